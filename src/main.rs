fn main() {
    println!("icodegen: not implemented yet");
}
