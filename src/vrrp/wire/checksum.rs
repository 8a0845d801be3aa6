//! The Internet checksum (RFC 1071) and the pseudo-headers VRRP, ICMPv6 and IPv4 use.
//!
//! `data` and the `pseudo_header_*` helpers return folded one's-complement *sums*; `combine` adds
//! sums; the value written to a packet is `!sum`. A packet verifies when the sum over it
//! (checksum field included) plus its pseudo-header is 0xffff.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Folds a wide accumulator into 16 bits with end-around carry.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// One's-complement sum of `bytes` as big-endian 16-bit words; an odd last byte is padded with zero.
pub fn data(bytes: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    fold(sum)
}

/// One's-complement sum of several partial sums.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// IPv4 pseudo-header sum: src, dst, zero, protocol, upper-layer length (RFC 768 / RFC 793 layout).
pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let mut ph = [0u8; 12];
    ph[0..4].copy_from_slice(&src.octets());
    ph[4..8].copy_from_slice(&dst.octets());
    ph[9] = protocol;
    ph[10..12].copy_from_slice(&length.to_be_bytes());
    data(&ph)
}

/// IPv6 pseudo-header sum (RFC 8200 §8.1): src, dst, 32-bit length, 3 zero bytes, next header.
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let mut ph = [0u8; 40];
    ph[0..16].copy_from_slice(&src.octets());
    ph[16..32].copy_from_slice(&dst.octets());
    ph[32..36].copy_from_slice(&length.to_be_bytes());
    ph[39] = next_header;
    data(&ph)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference sum written the slow, obvious way (u32 accumulation, explicit fold at the end).
    fn naive(bytes: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        let mut i = 0;
        while i < bytes.len() {
            let hi = u32::from(bytes[i]) << 8;
            let lo = if i + 1 < bytes.len() { u32::from(bytes[i + 1]) } else { 0 };
            acc += hi | lo;
            acc = (acc & 0xffff) + (acc >> 16);
            i += 2;
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        assert_eq!(data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12]), 0x1200);
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn empty_and_carry() {
        assert_eq!(data(&[]), 0);
        assert_eq!(data(&[0xff, 0xff, 0x00, 0x01]), 0x0001); // 0xffff + 1 = 0x10000 -> 0x0001
        assert_eq!(combine(&[0xffff, 0x0002]), 0x0002);
        assert_eq!(combine(&[]), 0);
    }

    #[test]
    fn matches_naive_on_generated_inputs() {
        let mut seed = 0x1234_5678_u32;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            assert_eq!(data(&bytes), naive(&bytes), "len {len}");
            // Splitting at an even offset and combining gives the same sum.
            let mid = (len / 2) & !1;
            assert_eq!(combine(&[data(&bytes[..mid]), data(&bytes[mid..])]), naive(&bytes));
        }
    }

    #[test]
    fn large_input_does_not_overflow() {
        let bytes = vec![0xffu8; 1 << 20];
        assert_eq!(data(&bytes), 0xffff);
    }

    #[test]
    fn pseudo_headers_layout() {
        let v4 = pseudo_header_v4(&Ipv4Addr::new(10, 9, 0, 1), &Ipv4Addr::new(224, 0, 0, 18), 112, 20);
        // 0a09 + 0001 + e000 + 0012 + 0070 + 0014
        assert_eq!(v4, naive(&[0x0a, 0x09, 0, 1, 0xe0, 0, 0, 0x12, 0, 112, 0, 20]));
        assert_eq!(v4, 0x0a09 + 0x0001 + 0xe000 + 0x0012 + 0x0070 + 0x0014);
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "ff02::12".parse().unwrap();
        // fe80 + 0001 + ff02 + 0012 + length 0x18 + next header 0x70
        let want = (0xfe80u32 + 1 + 0xff02 + 0x12 + 0x18 + 0x70) % 0xffff;
        assert_eq!(u32::from(pseudo_header_v6(&src, &dst, 112, 24)), want);
    }
}
