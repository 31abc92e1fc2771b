//! Prints N freshly generated, well-formed agent keys as a JSON array (for brute-force tests).
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let keys: Vec<String> = (0..n)
        .map(|_| oakauth_core::keys::generate(oakauth_core::keys::KeyKind::Agent).expect("random").secret)
        .collect();
    println!("{}", serde_json::to_string(&keys).expect("json"));
}
