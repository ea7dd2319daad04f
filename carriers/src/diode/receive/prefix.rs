//! The whole bundle's SHA-256, computed while the transfer is collected: each verified block
//! extends the hashed prefix when it is the next one (blocks verified ahead of it are read
//! back from the partial file, still in the page cache, once the gap closes). Delivery then
//! hashes only what is left instead of reading the whole file again, which took about a
//! second per 512 MiB at the end of every transfer (docs/benchmarks.md).

use std::io;

use sha2::{Digest as _, Sha256};

/// The running digest of blocks `1..next`.
#[derive(Clone, Default)]
pub struct PrefixDigest {
    hasher: Sha256,
    hashed: u32,
}

impl std::fmt::Debug for PrefixDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefixDigest")
            .field("hashed", &self.hashed)
            .finish_non_exhaustive()
    }
}

impl PrefixDigest {
    /// Data blocks hashed so far (blocks `1..=hashed`).
    pub fn hashed(&self) -> u32 {
        self.hashed
    }

    /// Block `block` was verified as `bytes`: hashes it if it is the next one, then every
    /// verified block after it (`verified[i]` is block `i + 1`), read with `read`.
    pub fn extend(
        &mut self,
        block: u32,
        bytes: &[u8],
        verified: &[bool],
        read: impl FnMut(u32) -> io::Result<Vec<u8>>,
    ) -> io::Result<()> {
        if block != self.hashed + 1 {
            return Ok(());
        }
        self.hasher.update(bytes);
        self.hashed = block;
        self.catch_up(verified, read)
    }

    fn catch_up(
        &mut self,
        verified: &[bool],
        mut read: impl FnMut(u32) -> io::Result<Vec<u8>>,
    ) -> io::Result<()> {
        while usize::try_from(self.hashed)
            .ok()
            .and_then(|i| verified.get(i))
            .copied()
            .unwrap_or(false)
        {
            let next = self.hashed + 1;
            self.hasher.update(read(next)?);
            self.hashed = next;
        }
        Ok(())
    }

    /// The digest of the whole file once every block is verified; `None` if a block is
    /// still missing.
    pub fn finish(
        &mut self,
        verified: &[bool],
        read: impl FnMut(u32) -> io::Result<Vec<u8>>,
    ) -> io::Result<Option<[u8; 32]>> {
        self.catch_up(verified, read)?;
        if usize::try_from(self.hashed).ok() != Some(verified.len()) {
            return Ok(None);
        }
        Ok(Some(self.hasher.clone().finalize().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks() -> Vec<Vec<u8>> {
        (0u8..6).map(|i| vec![i; 100 + usize::from(i)]).collect()
    }

    fn whole(blocks: &[Vec<u8>]) -> [u8; 32] {
        Sha256::digest(blocks.concat()).into()
    }

    #[test]
    fn any_order_of_verification_gives_the_whole_files_digest() -> io::Result<()> {
        let data = blocks();
        for order in [
            vec![1, 2, 3, 4, 5, 6],
            vec![6, 5, 4, 3, 2, 1],
            vec![2, 4, 6, 1, 3, 5],
            vec![3, 1, 2, 6, 5, 4],
        ] {
            let mut digest = PrefixDigest::default();
            let mut verified = vec![false; 6];
            let mut reads = 0;
            for block in &order {
                let i = (*block - 1) as usize;
                verified[i] = true;
                digest.extend(*block, &data[i], &verified, |b| {
                    reads += 1;
                    Ok(data[(b - 1) as usize].clone())
                })?;
            }
            assert_eq!(digest.hashed(), 6, "{order:?}");
            let got = digest.finish(&verified, |_| panic!("nothing left to read"))?;
            assert_eq!(got, Some(whole(&data)), "{order:?}");
            // Each block is hashed once: given, or read back once.
            assert!(reads <= 5, "{order:?}: {reads} reads");
        }
        Ok(())
    }

    #[test]
    fn a_missing_block_gives_no_digest_and_finish_reads_what_was_never_extended() -> io::Result<()>
    {
        let data = blocks();
        let mut digest = PrefixDigest::default();
        let mut verified = vec![true; 6];
        verified[3] = false;
        assert_eq!(
            digest.finish(&verified, |b| Ok(data[(b - 1) as usize].clone()))?,
            None
        );
        assert_eq!(digest.hashed(), 3);
        verified[3] = true;
        assert_eq!(
            digest.finish(&verified, |b| Ok(data[(b - 1) as usize].clone()))?,
            Some(whole(&data))
        );
        Ok(())
    }

    #[test]
    fn a_failed_read_is_reported_not_skipped() {
        let mut digest = PrefixDigest::default();
        let verified = vec![true; 3];
        let result = digest.finish(&verified, |_| Err(io::Error::other("disk gone")));
        assert!(result.is_err());
        assert_eq!(digest.hashed(), 0);
    }
}
