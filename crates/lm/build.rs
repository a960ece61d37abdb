//! Lets binaries and tests of this package find libtorch's shared libraries at run time
//! (torch-sys exports the folder it linked against as DEP_TCH_LIBTORCH_LIB).
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
