//! Human-friendly, unguessable request references such as `DSR-7KQ2-M9XD`.

/// Crockford-style alphabet without 0/O and 1/I, so a reference read over the phone
/// cannot be misheard.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// 8 random symbols = 40 bits; the store retries on the rare collision.
pub fn generate() -> String {
    let bytes: [u8; 8] = rand::random();
    let mut out = String::with_capacity(13);
    out.push_str("DSR-");
    for (i, b) in bytes.iter().enumerate() {
        if i == 4 {
            out.push('-');
        }
        out.push(ALPHABET[(b & 31) as usize] as char);
    }
    out
}

/// Normalise what a person typed (lower case, spaces) into the stored form.
pub fn normalize(input: &str) -> String {
    input.trim().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        for _ in 0..1000 {
            let r = generate();
            assert_eq!(r.len(), 13);
            assert!(r.starts_with("DSR-"));
            assert_eq!(&r[8..9], "-");
            assert!(!r.contains('0') && !r.contains('O') && !r.contains('I'));
        }
    }
}
