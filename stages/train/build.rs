fn main() {
    icodegen_fingerprint::emit();
    // Lets the binary and tests find libtorch's shared libraries at run time (torch-sys exports
    // the folder it linked against as DEP_TCH_LIBTORCH_LIB).
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
