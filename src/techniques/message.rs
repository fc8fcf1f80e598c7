//! The messages of the ping-pong experiment, and their check.
//!
//! A message of SIZE bytes (8 or more) starts with its round number (u64, little
//! endian); the rest is a fixed pattern whose CRC-32 is known in advance. The receiver
//! checks the length, the round and the CRC of the rest, so every message is checked
//! whole while the sender rewrites only 8 bytes a round. The Python and Go peers build
//! and check the same bytes (peers/PROTOCOL.md): byte i of the pattern is (i × 131 + 7)
//! mod 256, and CRC-32 is the IEEE one of zlib and Go's hash/crc32.

/// The smallest message: its round number.
pub const MIN_SIZE: usize = 8;

/// One message size's bytes and what a right copy of them must show.
#[derive(Clone, Debug)]
pub struct Message {
    bytes: Vec<u8>,
    tail_crc: u32,
}

impl Message {
    pub fn new(size: usize) -> Message {
        let size = size.max(MIN_SIZE);
        let bytes: Vec<u8> = (0..size).map(|i| (i * 131 + 7) as u8).collect();
        let tail_crc = crc32fast::hash(&bytes[MIN_SIZE..]);
        Message { bytes, tail_crc }
    }

    /// Writes the round number into the message.
    pub fn stamp(&mut self, round: u64) {
        self.bytes[..MIN_SIZE].copy_from_slice(&round.to_le_bytes());
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A stamped copy, for transports that hand buffers over.
    pub fn stamped(&self, round: u64) -> Vec<u8> {
        let mut copy = self.bytes.clone();
        copy[..MIN_SIZE].copy_from_slice(&round.to_le_bytes());
        copy
    }

    /// Whether `got` is this message of round `round`: length, round, CRC of the rest.
    pub fn check(&self, got: &[u8], round: u64) -> Result<(), String> {
        if got.len() != self.bytes.len() {
            return Err(format!(
                "a message of {} bytes arrived as {} bytes",
                self.bytes.len(),
                got.len()
            ));
        }
        let stamp = u64::from_le_bytes(got[..MIN_SIZE].try_into().expect("8 bytes"));
        if stamp != round {
            return Err(format!("round {round}'s message carried round {stamp}"));
        }
        let crc = crc32fast::hash(&got[MIN_SIZE..]);
        if crc != self.tail_crc {
            return Err(format!(
                "round {round}'s message of {} bytes is corrupt (CRC-32 {crc:08x}, expected {:08x})",
                got.len(),
                self.tail_crc
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_checks_its_length_round_and_bytes() {
        let mut m = Message::new(64);
        m.stamp(3);
        let good = m.bytes().to_vec();
        assert_eq!(m.check(&good, 3), Ok(()));
        assert!(m.check(&good, 4).unwrap_err().contains("carried round 3"));
        assert!(m.check(&good[..63], 3).unwrap_err().contains("63 bytes"));
        let mut bad = good.clone();
        bad[40] ^= 1;
        assert!(m.check(&bad, 3).unwrap_err().contains("corrupt"));
        assert_eq!(Message::new(8).check(&m.stamped(9)[..8], 9), Ok(()));
        // The pattern the peers rebuild: byte i is (i * 131 + 7) mod 256.
        assert_eq!(
            &Message::new(10).stamped(0)[8..],
            &[(8 * 131 + 7) as u8, (9 * 131 + 7) as u8]
        );
    }
}
