fn main() {
    icodegen_fingerprint::emit();
}
