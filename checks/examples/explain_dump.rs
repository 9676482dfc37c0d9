fn main() {
    for p in std::env::args().skip(1) {
        let bytes = std::fs::read(&p).unwrap();
        println!("== {p}");
        match mailpreflight_checks::bounce::parse(&bytes) {
            Ok(b) => println!("{}", serde_json::to_string_pretty(&b).unwrap()),
            Err(e) => println!("ERROR {e}"),
        }
    }
}
