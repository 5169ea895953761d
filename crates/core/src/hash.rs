//! A stable 64-bit hash (FNV-1a) for everything that must give the same
//! number on every machine and in every release: shard partitions, caption
//! seeds, names of fuzz inputs. Not for hash tables or security.

/// FNV-1a (64 bit), fed piece by piece.
///
/// ```
/// use wearlang_core::hash::Fnv1a;
/// let mut h = Fnv1a::new();
/// h.write(b"s01");
/// assert_eq!(h.finish(), wearlang_core::hash::fnv1a(b"s01"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// The hash of nothing yet.
    pub fn new() -> Self {
        Self(Self::OFFSET)
    }

    /// Feed `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Feed `bytes` and a separator byte (0xff), so that consecutive fields
    /// ("ab", "c") and ("a", "bc") hash differently.
    pub fn write_field(&mut self, bytes: &[u8]) {
        self.write(bytes);
        self.write(&[0xff]);
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// FNV-1a (64 bit) of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::new();
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Reference values of FNV-1a 64.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let (mut a, mut b) = (Fnv1a::new(), Fnv1a::new());
        a.write_field(b"ab");
        a.write_field(b"c");
        b.write_field(b"a");
        b.write_field(b"bc");
        assert_ne!(a.finish(), b.finish());
    }
}
