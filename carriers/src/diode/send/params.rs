//! The sender's parameters, checked once (docs/diode.md 2 and 5): the symbol size derived
//! from the MTU and the address family, the block size, the repair overhead and the pacing.

use std::time::Duration;

use super::super::announce::{
    MAX_BLOCK_BYTES, MAX_BLOCK_SYMBOLS, MAX_SYMBOL_SIZE, MIN_SYMBOL_SIZE, SYMBOL_ALIGNMENT,
};
use super::super::wire::SYMBOL_OVERHEAD;

/// The UDP header's bytes.
const UDP_HEADER: u32 = 8;
/// The largest repair overhead accepted, in thousandths (500%).
pub const MAX_OVERHEAD_PER_MILLE: u16 = 5_000;
/// The most blocks encoded and interleaved at once.
pub const MAX_INTERLEAVE: u32 = 64;

/// The address family of the link: it sets the IP header's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4: 20-byte header.
    V4,
    /// IPv6: 40-byte header.
    V6,
}

impl Family {
    /// Bytes of IP and UDP headers around each datagram: what the link carries beyond it,
    /// and what `--rate` counts with each datagram.
    pub fn ip_udp_overhead(self) -> u32 {
        match self {
            Self::V4 => 20 + UDP_HEADER,
            Self::V6 => 40 + UDP_HEADER,
        }
    }
}

/// What the operator asked for, before it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requested {
    /// The link's MTU in bytes (the whole IP packet).
    pub mtu: u32,
    /// The destination's address family.
    pub family: Family,
    /// Source symbols per data block.
    pub block_symbols: u32,
    /// Repair symbols per block per round, in thousandths of its source symbols.
    pub overhead_per_mille: u16,
    /// The link rate to keep under, in bits per second, IP and UDP headers included.
    pub rate_bps: u64,
    /// Blocks interleaved at once.
    pub interleave: u32,
    /// Rounds per transfer (1: source and repair once; each further round: fresh repair).
    pub rounds: u32,
    /// Time between heartbeats.
    pub heartbeat: Duration,
}

/// Checked parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendParams {
    /// Bytes per symbol (a multiple of 8).
    pub symbol_size: u16,
    /// Bytes per data block: `block_symbols x symbol_size`.
    pub block_size: u32,
    /// Repair overhead in thousandths.
    pub overhead_per_mille: u16,
    /// Bits per second on the link, IP and UDP headers included.
    pub rate_bps: u64,
    /// IP and UDP header bytes per datagram.
    pub ip_udp_overhead: u32,
    /// Blocks interleaved at once.
    pub interleave: u32,
    /// Rounds per transfer.
    pub rounds: u32,
    /// Time between heartbeats.
    pub heartbeat: Duration,
}

/// Why parameters are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The MTU leaves a symbol smaller than the protocol's smallest.
    #[error(
        "an MTU of {mtu} bytes leaves {symbol} bytes per symbol, less than the smallest ({min})\nHint: give the link's real MTU (1500 for Ethernet)"
    )]
    MtuTooSmall {
        /// The MTU given.
        mtu: u32,
        /// The symbol it leaves.
        symbol: i64,
        /// The smallest symbol.
        min: u16,
    },
    /// Zero or too many source symbols per block, or a block over the byte limit.
    #[error(
        "{symbols} symbols of {symbol_size} bytes per block is not allowed: 1..={max_symbols} symbols and at most {max_bytes} bytes\nHint: the default 1024 suits any MTU up to 9000"
    )]
    BlockSize {
        /// Symbols asked for.
        symbols: u32,
        /// The symbol size.
        symbol_size: u16,
        /// The most symbols.
        max_symbols: u32,
        /// The most bytes.
        max_bytes: u32,
    },
    /// An overhead above 500%.
    #[error(
        "a repair overhead of {per_mille} thousandths is above 500%\nHint: use the loss you expect plus a margin, such as 5%"
    )]
    Overhead {
        /// The overhead asked for.
        per_mille: u16,
    },
    /// A rate of zero.
    #[error(
        "a rate of 0 bits/s sends nothing\nHint: give the diode's rate or just under it, such as 95M"
    )]
    Rate,
    /// Zero or too many blocks interleaved.
    #[error("interleaving {0} blocks is not allowed (1..={MAX_INTERLEAVE})")]
    Interleave(u32),
    /// Zero rounds.
    #[error("0 rounds send nothing (1..)")]
    Rounds,
    /// A heartbeat interval of zero or longer than the protocol can state.
    #[error("a heartbeat every {0:?} is not allowed (1 ms ..= 1 hour)")]
    Heartbeat(Duration),
}

/// The symbol size an MTU leaves (docs/diode.md 2): the MTU less the IP, UDP and symbol
/// datagram headers, rounded down to a multiple of 8, at most the protocol's largest.
pub fn symbol_size(mtu: u32, family: Family) -> Result<u16, ParamError> {
    let room = i64::from(mtu) - i64::from(family.ip_udp_overhead()) - SYMBOL_OVERHEAD as i64;
    let aligned = room.div_euclid(i64::from(SYMBOL_ALIGNMENT)) * i64::from(SYMBOL_ALIGNMENT);
    if aligned < i64::from(MIN_SYMBOL_SIZE) {
        return Err(ParamError::MtuTooSmall {
            mtu,
            symbol: aligned,
            min: MIN_SYMBOL_SIZE,
        });
    }
    Ok(u16::try_from(aligned.min(i64::from(MAX_SYMBOL_SIZE))).unwrap_or(MAX_SYMBOL_SIZE))
}

impl Requested {
    /// Checks every parameter; the first one wrong is named.
    pub fn check(&self) -> Result<SendParams, ParamError> {
        let symbol_size = symbol_size(self.mtu, self.family)?;
        let block_size = u64::from(self.block_symbols) * u64::from(symbol_size);
        if self.block_symbols == 0
            || self.block_symbols > MAX_BLOCK_SYMBOLS
            || block_size > u64::from(MAX_BLOCK_BYTES)
        {
            return Err(ParamError::BlockSize {
                symbols: self.block_symbols,
                symbol_size,
                max_symbols: MAX_BLOCK_SYMBOLS,
                max_bytes: MAX_BLOCK_BYTES,
            });
        }
        if self.overhead_per_mille > MAX_OVERHEAD_PER_MILLE {
            return Err(ParamError::Overhead {
                per_mille: self.overhead_per_mille,
            });
        }
        if self.rate_bps == 0 {
            return Err(ParamError::Rate);
        }
        if self.interleave == 0 || self.interleave > MAX_INTERLEAVE {
            return Err(ParamError::Interleave(self.interleave));
        }
        if self.rounds == 0 {
            return Err(ParamError::Rounds);
        }
        if self.heartbeat < Duration::from_millis(1) || self.heartbeat > Duration::from_secs(3600) {
            return Err(ParamError::Heartbeat(self.heartbeat));
        }
        Ok(SendParams {
            symbol_size,
            block_size: u32::try_from(block_size).unwrap_or(MAX_BLOCK_BYTES),
            overhead_per_mille: self.overhead_per_mille,
            rate_bps: self.rate_bps,
            ip_udp_overhead: self.family.ip_udp_overhead(),
            interleave: self.interleave,
            rounds: self.rounds,
            heartbeat: self.heartbeat,
        })
    }
}

/// Repair symbols a block of `k` source symbols gets in the first round: ceil(k x overhead).
pub fn first_round_repair(k: u32, overhead_per_mille: u16) -> u32 {
    let n = (u64::from(k) * u64::from(overhead_per_mille)).div_ceil(1000);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Symbols a block of `k` source symbols gets in each later round, all fresh repair:
/// ceil(k x (1 + overhead)).
pub fn later_round_symbols(k: u32, overhead_per_mille: u16) -> u32 {
    let n = (u64::from(k) * (1000 + u64::from(overhead_per_mille))).div_ceil(1000);
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested() -> Requested {
        Requested {
            mtu: 1500,
            family: Family::V4,
            block_symbols: 1024,
            overhead_per_mille: 50,
            rate_bps: 95_000_000,
            interleave: 8,
            rounds: 1,
            heartbeat: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_symbol_size_follows_the_mtu_and_the_family() {
        assert_eq!(symbol_size(1500, Family::V4), Ok(1440));
        assert_eq!(symbol_size(1500, Family::V6), Ok(1424));
        assert_eq!(symbol_size(9000, Family::V4), Ok(8944));
        assert_eq!(symbol_size(1280, Family::V6), Ok(1200));
        assert_eq!(symbol_size(65_535, Family::V4), Ok(MAX_SYMBOL_SIZE));
        assert_eq!(symbol_size(118, Family::V4), Ok(64));
    }

    #[test]
    fn an_mtu_too_small_for_the_smallest_symbol_is_refused() {
        for (mtu, family) in [
            (117, Family::V4),
            (130, Family::V6),
            (0, Family::V4),
            (54, Family::V4),
        ] {
            let err = symbol_size(mtu, family);
            assert!(
                matches!(err, Err(ParamError::MtuTooSmall { .. })),
                "{mtu}: {err:?}"
            );
        }
        let err = Requested {
            mtu: 100,
            ..requested()
        }
        .check();
        assert!(err.is_err_and(|e| e.to_string().contains("MTU of 100 bytes")));
    }

    #[test]
    fn blocks_outside_the_limits_are_refused() {
        for (mtu, symbols) in [(1500, 0), (1500, 8193), (9000, 4096), (65_535, 300)] {
            let err = Requested {
                mtu,
                block_symbols: symbols,
                ..requested()
            }
            .check();
            assert!(
                matches!(err, Err(ParamError::BlockSize { .. })),
                "{mtu}/{symbols}: {err:?}"
            );
        }
        let ok = Requested {
            block_symbols: 8192,
            ..requested()
        }
        .check();
        assert_eq!(ok.map(|p| p.block_size), Ok(8192 * 1440));
    }

    #[test]
    fn other_parameters_are_checked() {
        assert_eq!(
            Requested {
                overhead_per_mille: 5001,
                ..requested()
            }
            .check(),
            Err(ParamError::Overhead { per_mille: 5001 })
        );
        assert!(
            Requested {
                overhead_per_mille: 5000,
                ..requested()
            }
            .check()
            .is_ok()
        );
        assert_eq!(
            Requested {
                rate_bps: 0,
                ..requested()
            }
            .check(),
            Err(ParamError::Rate)
        );
        assert_eq!(
            Requested {
                interleave: 0,
                ..requested()
            }
            .check(),
            Err(ParamError::Interleave(0))
        );
        assert_eq!(
            Requested {
                interleave: 65,
                ..requested()
            }
            .check(),
            Err(ParamError::Interleave(65))
        );
        assert_eq!(
            Requested {
                rounds: 0,
                ..requested()
            }
            .check(),
            Err(ParamError::Rounds)
        );
        assert!(
            Requested {
                heartbeat: Duration::ZERO,
                ..requested()
            }
            .check()
            .is_err()
        );
        let ok = requested().check();
        assert_eq!(
            ok.map(|p| (p.symbol_size, p.block_size, p.ip_udp_overhead)),
            Ok((1440, 1024 * 1440, 28))
        );
        let v6 = Requested {
            family: Family::V6,
            ..requested()
        }
        .check();
        assert_eq!(v6.map(|p| p.ip_udp_overhead), Ok(48));
    }

    #[test]
    fn repair_counts_round_up() {
        assert_eq!(first_round_repair(1024, 50), 52);
        assert_eq!(first_round_repair(1, 50), 1);
        assert_eq!(first_round_repair(1000, 0), 0);
        assert_eq!(later_round_symbols(1024, 50), 1076);
        assert_eq!(later_round_symbols(1, 0), 1);
        assert_eq!(later_round_symbols(10, 5000), 60);
    }
}
