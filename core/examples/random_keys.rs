//! Prints N freshly generated, well-formed agent keys as a JSON array (for brute-force tests).
//! With a second argument of up to 6 base62 characters, every key starts with `oak_` + those characters,
//! so all of them share one visible prefix.
fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let prefix = args.next().unwrap_or_default();
    assert!(
        prefix.len() <= 6 && prefix.bytes().all(|b| b.is_ascii_alphanumeric()),
        "prefix: up to 6 base62 characters"
    );
    let keys: Vec<String> = (0..n)
        .map(|_| {
            let mut random = prefix.clone();
            oakauth_core::ids::push_random_base62(&mut random, 32 - prefix.len()).expect("random");
            oakauth_core::keys::from_random(oakauth_core::keys::KeyKind::Agent, &random).secret
        })
        .collect();
    println!("{}", serde_json::to_string(&keys).expect("json"));
}
