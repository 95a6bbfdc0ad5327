//! Keys and the cipher that keeps confidential records encrypted at rest: the archive's
//! meeting files and catalog cells, and the web app's uploads while they wait for their job.
//!
//! - **Key**: 32 random bytes in a key file the administrator holds (`gijiroku keys init FILE`
//!   writes one, mode 0600), given with `--key-file` / `GIJIROKU_KEY_FILE`; or derived from a
//!   passphrase (`GIJIROKU_KEY_PASSPHRASE`) with argon2id and a random salt kept in the catalog. The archive never
//!   stores the key; it stores a *key check* (a known text sealed with the key) in the catalog,
//!   so a wrong key file is told apart from damage and never yields garbage.
//! - **Files** (recordings, transcripts, minutes, `meeting.toml`): XChaCha20-Poly1305 in the
//!   STREAM construction (RustCrypto `aead::stream`, big-endian 32-bit chunk counter + last-chunk
//!   flag in the nonce) over 64 KiB chunks. Every chunk is authenticated on its own, so a reader
//!   can seek to any plaintext offset and decrypt only the chunk there (HTTP ranges on a 1 GB
//!   recording), and writing streams in constant memory. Truncation, reordering and a wrong key
//!   all fail authentication.
//!
//!   Layout: `GJRKENC1` (8 bytes) · nonce prefix (19 random bytes) · chunks, each its ciphertext
//!   (64 KiB, the last one shorter, possibly empty) and a 16-byte tag. The header is the
//!   associated data of every chunk. The plaintext length follows from the file length.
//! - **Catalog cells** (turn text, speaker names): [`Key::seal`] — XChaCha20-Poly1305 with a
//!   random 24-byte nonce, stored as a BLOB, with the meeting id as associated data so a cell
//!   cannot be moved to another meeting unnoticed.

use anyhow::{bail, Context};
use chacha20poly1305::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use zeroize::Zeroizing;

/// First bytes of every encrypted file (the last byte is the format version).
pub const MAGIC: &[u8; 8] = b"GJRKENC1";
/// Bytes of the random nonce prefix (XChaCha's 24 less STREAM's 5-byte counter and flag).
const PREFIX_LEN: usize = 19;
/// Header: magic and nonce prefix.
pub const HEADER_LEN: u64 = (MAGIC.len() + PREFIX_LEN) as u64;
/// Plaintext bytes per chunk.
pub const CHUNK: u64 = 64 * 1024;
/// Poly1305 tag after each chunk.
const TAG: u64 = 16;
/// Format version of sealed catalog cells (first byte).
const CELL_VERSION: u8 = 1;
/// Bytes of a sealed cell's random nonce.
const CELL_NONCE: usize = 24;
/// `Key::source` of a passphrase-derived key.
const PASSPHRASE_SOURCE: &str = "(passphrase)";
/// First line of a key file, so that any other file given by mistake is refused.
const KEY_FILE_HEADER: &str = "# gijiroku archive key";

/// The archive key: 32 bytes, wiped from memory when dropped.
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    /// Where it came from, for messages ("the key file X does not open this archive").
    source: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.source)
    }
}

impl Key {
    /// A new random key (from the operating system's generator).
    pub fn generate(source: &str) -> Key {
        let k = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&k);
        Key {
            bytes,
            source: source.to_string(),
        }
    }

    pub fn from_bytes(bytes: [u8; 32], source: &str) -> Key {
        Key {
            bytes: Zeroizing::new(bytes),
            source: source.to_string(),
        }
    }

    /// Where the key came from (a file path, or a description).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Writes a new random key to `path` (which must not exist yet), readable by its owner
    /// only, and returns it.
    pub fn create_file(path: &Path) -> anyhow::Result<Key> {
        use std::os::unix::fs::OpenOptionsExt;
        let key = Key::generate(&path.display().to_string());
        let text = Zeroizing::new(format!(
            "{KEY_FILE_HEADER} (XChaCha20-Poly1305). Keep it safe and keep a copy apart:\n\
             # without it the confidential records of the archive cannot be read by anyone.\n{}\n",
            hex::encode(*key.bytes)
        ));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| match path.exists() {
                true => format!(
                    "{} already exists: a key file is never overwritten (the records it \
                     encrypted would be lost)",
                    path.display()
                ),
                false => format!("cannot create the key file {}", path.display()),
            })?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write the key file {}", path.display()))?;
        Ok(key)
    }

    /// Reads a key file written by [`Key::create_file`].
    pub fn load(path: &Path) -> anyhow::Result<Key> {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?;
        if !meta.is_file() || meta.len() > 4096 {
            bail!("{} is not a gijiroku key file", path.display());
        }
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    "the key file {} can be read by other users: chmod 600 it",
                    path.display()
                );
            }
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the key file {}", path.display()))?,
        );
        if !text.starts_with(KEY_FILE_HEADER) {
            bail!(
                "{} is not a gijiroku key file (make one with `gijiroku keys init FILE`)",
                path.display()
            );
        }
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(line, &mut bytes[..]).map_err(|_| {
            anyhow::anyhow!(
                "the key file {} is damaged (its key line is not 64 hexadecimal digits)",
                path.display()
            )
        })?;
        Ok(Key {
            bytes,
            source: path.display().to_string(),
        })
    }

    /// The key derived from a passphrase and the archive's salt with argon2id (64 MiB, 3
    /// passes: about a quarter of a second, so guessing passphrases is slow).
    pub fn from_passphrase(passphrase: &str, salt: &[u8]) -> anyhow::Result<Key> {
        if passphrase.chars().count() < 12 {
            bail!("the passphrase is too short (at least 12 characters)");
        }
        let params = argon2::Params::new(64 * 1024, 3, 1, Some(32))
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let kdf = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut bytes = Zeroizing::new([0u8; 32]);
        kdf.hash_password_into(passphrase.as_bytes(), salt, &mut bytes[..])
            .map_err(|e| anyhow::anyhow!("cannot derive the key from the passphrase: {e}"))?;
        Ok(Key {
            bytes,
            source: PASSPHRASE_SOURCE.to_string(),
        })
    }

    /// How errors name this key: "the key file X" or "the passphrase".
    pub fn describe(&self) -> String {
        if self.source == PASSPHRASE_SOURCE {
            "the passphrase".to_string()
        } else {
            format!("the key file {}", self.source)
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&*self.bytes).into())
    }

    /// Encrypts a small value (a catalog cell) bound to `context` (e.g. the meeting id).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            // XChaCha20-Poly1305 fails only for messages over 256 GiB: not a catalog cell.
            .expect("a catalog cell is far below the cipher's limit");
        let mut out = Vec::with_capacity(1 + CELL_NONCE + ct.len());
        out.push(CELL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a value sealed by [`Key::seal`] with the same `context`; `None` when the key
    /// or the context is wrong or the value was altered.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 1 + CELL_NONCE + TAG as usize || sealed[0] != CELL_VERSION {
            return None;
        }
        let (nonce, ct) = sealed[1..].split_at(CELL_NONCE);
        self.cipher()
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ct,
                    aad: context,
                },
            )
            .ok()
    }
}

/// 16 random bytes (the salt of a passphrase-derived key).
pub fn random_salt() -> [u8; 16] {
    use chacha20poly1305::aead::rand_core::RngCore;
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    salt
}

/// The known text sealed with the archive key and kept in the catalog.
const KEY_CHECK_TEXT: &[u8] = b"gijiroku archive key check v1";
const KEY_CHECK_CONTEXT: &[u8] = b"key-check";

/// A key check value for `key` (stored in the catalog with the first confidential record).
pub fn key_check(key: &Key) -> Vec<u8> {
    key.seal(KEY_CHECK_TEXT, KEY_CHECK_CONTEXT)
}

/// Does `key` open this key check value?
pub fn key_matches(key: &Key, check: &[u8]) -> bool {
    key.open(check, KEY_CHECK_CONTEXT).as_deref() == Some(KEY_CHECK_TEXT)
}

/// Is this the start of an encrypted file?
pub fn is_encrypted(head: &[u8]) -> bool {
    head.len() >= MAGIC.len() && &head[..MAGIC.len()] == MAGIC
}

/// Does the file at `path` start with the encrypted-file header?
pub fn file_is_encrypted(path: &Path) -> anyhow::Result<bool> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut head = [0u8; 8];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(is_encrypted(&head[..n]))
}

fn stream(key: &Key, prefix: &[u8]) -> StreamBE32<XChaCha20Poly1305> {
    StreamBE32::from_aead(key.cipher(), prefix.into())
}

/// Encrypts everything `src` yields into `dst` (streaming: one chunk in memory at a time).
/// Returns the number of plaintext bytes.
pub fn encrypt_stream(key: &Key, mut src: impl Read, mut dst: impl Write) -> anyhow::Result<u64> {
    let mut sealer = Sealer::new(key);
    let mut buf = Zeroizing::new(Vec::with_capacity(CHUNK as usize));
    let mut total = 0u64;
    loop {
        buf.clear();
        (&mut src).take(CHUNK).read_to_end(&mut buf)?;
        if buf.is_empty() {
            break;
        }
        total += buf.len() as u64;
        dst.write_all(&sealer.push(&buf)?)?;
    }
    dst.write_all(&sealer.finish()?)?;
    dst.flush()?;
    Ok(total)
}

/// Encrypts a stream that arrives in pieces (an HTTP upload): [`Sealer::push`] returns the
/// bytes to append to the file so far, [`Sealer::finish`] the rest. The output is the same
/// format as [`encrypt_stream`]'s. A full chunk is held back until the next byte arrives,
/// because the last chunk is sealed with a flag of its own.
pub struct Sealer {
    stream: StreamBE32<XChaCha20Poly1305>,
    header: [u8; HEADER_LEN as usize],
    header_out: bool,
    pending: Zeroizing<Vec<u8>>,
    position: u32,
}

impl Sealer {
    pub fn new(key: &Key) -> Sealer {
        let mut header = [0u8; HEADER_LEN as usize];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        {
            use chacha20poly1305::aead::rand_core::RngCore;
            OsRng.fill_bytes(&mut header[MAGIC.len()..]);
        }
        Sealer {
            stream: stream(key, &header[MAGIC.len()..]),
            header,
            header_out: false,
            pending: Zeroizing::new(Vec::with_capacity((CHUNK + TAG) as usize)),
            position: 0,
        }
    }

    /// Takes more plaintext; returns the ciphertext now ready to be written.
    pub fn push(&mut self, mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() + 64);
        if !self.header_out {
            out.extend_from_slice(&self.header);
            self.header_out = true;
        }
        while !data.is_empty() {
            if self.pending.len() as u64 == CHUNK {
                // More follows, so the held chunk is not the last one.
                self.seal_pending(false, &mut out)?;
            }
            let room = CHUNK as usize - self.pending.len();
            let n = room.min(data.len());
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(out)
    }

    /// Seals what is held as the last chunk; returns the ciphertext to write.
    pub fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        if !self.header_out {
            out.extend_from_slice(&self.header);
        }
        self.seal_pending(true, &mut out)?;
        Ok(out)
    }

    fn seal_pending(&mut self, last: bool, out: &mut Vec<u8>) -> anyhow::Result<()> {
        let mut chunk = std::mem::take(&mut *self.pending);
        self.stream
            .encrypt_in_place(self.position, last, &self.header, &mut chunk)
            .map_err(|_| anyhow::anyhow!("cannot encrypt chunk {}", self.position))?;
        out.extend_from_slice(&chunk);
        self.position = self
            .position
            .checked_add(1)
            .context("file too large to encrypt (over 256 TiB)")?;
        self.pending.reserve((CHUNK + TAG) as usize);
        Ok(())
    }
}

/// A file opened for reading with seeking, whatever it holds: its plaintext when it was
/// sealed (which needs `key`), the file itself when it was not.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// Opens `path` for reading its plaintext: decrypted on the fly when it is sealed (needs the
/// key), as it is otherwise. Returns the reader and the plaintext length.
pub fn open_plain(path: &Path, key: Option<&Key>) -> anyhow::Result<(Box<dyn ReadSeek>, u64)> {
    let shown = path.display().to_string();
    if file_is_encrypted(path)? {
        let Some(key) = key else {
            bail!("{shown} is encrypted: give the key file (--key-file or GIJIROKU_KEY_FILE)");
        };
        open_decrypting(path, key, &shown)
    } else {
        let f = std::fs::File::open(path).with_context(|| format!("cannot open {shown}"))?;
        let len = f.metadata()?.len();
        Ok((Box::new(f), len))
    }
}

/// Opens a sealed file for reading its plaintext with seeking; `what` names it in errors.
pub fn open_decrypting(
    path: &Path,
    key: &Key,
    what: &str,
) -> anyhow::Result<(Box<dyn ReadSeek>, u64)> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let r = DecryptingReader::new(
        std::io::BufReader::with_capacity(CHUNK as usize + 64, f),
        key,
        what,
    )?;
    let len = r.len();
    Ok((Box::new(r), len))
}

/// Reads a small file whole, decrypting it when it is sealed (needs `key`).
pub fn read_plain(path: &Path, key: Option<&Key>) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !is_encrypted(&bytes) {
        return Ok(bytes);
    }
    let Some(key) = key else {
        bail!(
            "{} is encrypted: give the key file (--key-file or GIJIROKU_KEY_FILE)",
            path.display()
        );
    };
    decrypt_bytes(key, &bytes, &path.display().to_string())
}

/// Encrypts a whole (small) buffer.
pub fn encrypt_bytes(key: &Key, plain: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(plain.len() + plain.len() / 4096 + 64);
    encrypt_stream(key, plain, &mut out)?;
    Ok(out)
}

/// Decrypts a whole (small) encrypted buffer; `what` names it in errors.
pub fn decrypt_bytes(key: &Key, sealed: &[u8], what: &str) -> anyhow::Result<Vec<u8>> {
    let mut r = DecryptingReader::new(std::io::Cursor::new(sealed), key, what)?;
    let mut out = Vec::with_capacity(r.len() as usize);
    r.read_to_end(&mut out)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(out)
}

/// Reads the plaintext of an encrypted file with seeking: only the chunk under the read
/// position is read and decrypted.
pub struct DecryptingReader<R> {
    inner: R,
    stream: StreamBE32<XChaCha20Poly1305>,
    header: [u8; HEADER_LEN as usize],
    plain_len: u64,
    chunks: u64,
    pos: u64,
    /// The decrypted chunk under `pos`, if loaded: its index and plaintext.
    cached: Option<(u64, Zeroizing<Vec<u8>>)>,
    what: String,
}

impl<R: Read + Seek> DecryptingReader<R> {
    /// Checks the header and works out the plaintext length from the file's length.
    pub fn new(mut inner: R, key: &Key, what: &str) -> anyhow::Result<DecryptingReader<R>> {
        let size = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        let mut header = [0u8; HEADER_LEN as usize];
        if size < HEADER_LEN + TAG {
            bail!("{what} is not an encrypted gijiroku file (too short)");
        }
        inner.read_exact(&mut header)?;
        if !is_encrypted(&header) {
            bail!("{what} is not an encrypted gijiroku file");
        }
        let body = size - HEADER_LEN;
        let chunks = body.div_ceil(CHUNK + TAG);
        // A last chunk must hold at least its tag.
        if body - (chunks - 1) * (CHUNK + TAG) < TAG {
            bail!("{what} is damaged (cut off inside a chunk)");
        }
        let plain_len = body - chunks * TAG;
        let stream = stream(key, &header[MAGIC.len()..]);
        let mut r = DecryptingReader {
            inner,
            stream,
            header,
            plain_len,
            chunks,
            pos: 0,
            cached: None,
            what: what.to_string(),
        };
        // Decrypting the first chunk now tells a wrong key (or damage) before anyone reads.
        r.load(0).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(r)
    }

    /// Length of the plaintext.
    pub fn len(&self) -> u64 {
        self.plain_len
    }

    pub fn is_empty(&self) -> bool {
        self.plain_len == 0
    }

    fn load(&mut self, chunk: u64) -> std::io::Result<()> {
        if self.cached.as_ref().is_some_and(|(i, _)| *i == chunk) {
            return Ok(());
        }
        let start = HEADER_LEN + chunk * (CHUNK + TAG);
        let size = HEADER_LEN + self.plain_len + self.chunks * TAG;
        let n = (size - start).min(CHUNK + TAG) as usize;
        self.inner.seek(SeekFrom::Start(start))?;
        let mut buf = Zeroizing::new(vec![0u8; n]);
        self.inner.read_exact(&mut buf)?;
        let position = u32::try_from(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "too many chunks"))?;
        let last = chunk + 1 == self.chunks;
        self.stream
            .decrypt_in_place(position, last, &self.header, &mut *buf)
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} cannot be decrypted: it was encrypted with another key, or it is damaged",
                        self.what
                    ),
                )
            })?;
        self.cached = Some((chunk, buf));
        Ok(())
    }
}

impl<R: Read + Seek> Read for DecryptingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.plain_len || out.is_empty() {
            return Ok(0);
        }
        let chunk = self.pos / CHUNK;
        self.load(chunk)?;
        let (_, plain) = self.cached.as_ref().expect("loaded above");
        let at = (self.pos - chunk * CHUNK) as usize;
        let n = (plain.len() - at).min(out.len());
        out[..n].copy_from_slice(&plain[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for DecryptingReader<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.plain_len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealer_fed_in_pieces_writes_what_encrypt_stream_would() {
        let key = Key::generate("test");
        let c = CHUNK as usize;
        for len in [0, 1, c - 1, c, c + 1, 2 * c, 3 * c + 17] {
            let plain = pattern(len);
            for piece in [1usize, 1000, c, c + 3] {
                let mut s = Sealer::new(&key);
                let mut sealed = Vec::new();
                // Also an empty push now and then: an HTTP body may yield empty frames.
                sealed.extend(s.push(&[]).unwrap());
                for p in plain.chunks(piece) {
                    sealed.extend(s.push(p).unwrap());
                }
                sealed.extend(s.finish().unwrap());
                let expected_len = HEADER_LEN as usize + len + len.div_ceil(c).max(1) * 16;
                assert_eq!(sealed.len(), expected_len, "len {len} piece {piece}");
                let back = decrypt_bytes(&key, &sealed, "x").unwrap();
                assert_eq!(back, plain, "len {len} piece {piece}");
                // Cut off at a chunk boundary: refused, never read as a shorter file.
                if len > c {
                    let cut = HEADER_LEN as usize + c + 16;
                    assert!(decrypt_bytes(&key, &sealed[..cut], "x").is_err());
                }
            }
        }
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        let key = Key::generate("test");
        for n in [
            0,
            1,
            100,
            CHUNK as usize - 1,
            CHUNK as usize,
            CHUNK as usize + 1,
            3 * CHUNK as usize,
        ] {
            let plain = pattern(n);
            let sealed = encrypt_bytes(&key, &plain).unwrap();
            let chunks = n.div_ceil(CHUNK as usize).max(1) as u64;
            assert_eq!(sealed.len() as u64, HEADER_LEN + n as u64 + chunks * TAG);
            assert_eq!(
                decrypt_bytes(&key, &sealed, "t").unwrap(),
                plain,
                "length {n}"
            );
        }
    }

    #[test]
    fn seeks_anywhere() {
        let key = Key::generate("test");
        let plain = pattern(5 * CHUNK as usize + 123);
        let sealed = encrypt_bytes(&key, &plain).unwrap();
        let mut r = DecryptingReader::new(std::io::Cursor::new(&sealed), &key, "t").unwrap();
        assert_eq!(r.len(), plain.len() as u64);
        for &at in &[
            0u64,
            1,
            CHUNK - 3,
            CHUNK,
            2 * CHUNK + 77,
            5 * CHUNK + 100,
            5 * CHUNK + 123,
        ] {
            r.seek(SeekFrom::Start(at)).unwrap();
            let mut buf = vec![0u8; 10];
            let mut got = Vec::new();
            loop {
                let k = r.read(&mut buf).unwrap();
                if k == 0 || got.len() >= 10 {
                    break;
                }
                got.extend_from_slice(&buf[..k]);
            }
            let end = (at as usize + got.len()).min(plain.len());
            assert_eq!(&got[..], &plain[at as usize..end], "at {at}");
        }
    }

    #[test]
    fn wrong_key_truncation_and_tampering_fail() {
        let key = Key::generate("a");
        let other = Key::generate("b");
        let plain = pattern(2 * CHUNK as usize + 5);
        let sealed = encrypt_bytes(&key, &plain).unwrap();
        assert!(decrypt_bytes(&other, &sealed, "t").is_err());
        // Cut at a chunk boundary: the new last chunk was not written as the last one.
        let cut = &sealed[..(HEADER_LEN + 2 * (CHUNK + TAG)) as usize];
        assert!(decrypt_bytes(&key, cut, "t").is_err());
        let mut bad = sealed.clone();
        let i = bad.len() - 20;
        bad[i] ^= 1;
        assert!(decrypt_bytes(&key, &bad, "t").is_err());
        // Cells: bound to their context.
        let c = key.seal(b"secret", b"meeting:1");
        assert_eq!(key.open(&c, b"meeting:1").unwrap(), b"secret");
        assert!(key.open(&c, b"meeting:2").is_none());
        assert!(other.open(&c, b"meeting:1").is_none());
        assert!(key_matches(&key, &key_check(&key)));
        assert!(!key_matches(&other, &key_check(&key)));
    }

    #[test]
    fn passphrases_derive_keys_per_salt() {
        let a = Key::from_passphrase("correct horse battery", b"salt-of-archive-1").unwrap();
        let b = Key::from_passphrase("correct horse battery", b"salt-of-archive-1").unwrap();
        let c = Key::from_passphrase("correct horse battery", b"salt-of-archive-2").unwrap();
        assert_eq!(*a.bytes, *b.bytes);
        assert_ne!(*a.bytes, *c.bytes);
        assert!(key_matches(&b, &key_check(&a)));
        assert_eq!(a.describe(), "the passphrase");
        assert!(Key::from_passphrase("short", b"salt-of-archive-1").is_err());
    }

    #[test]
    fn key_files_round_trip_and_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.key");
        let k = Key::create_file(&p).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let l = Key::load(&p).unwrap();
        assert_eq!(*k.bytes, *l.bytes);
        assert!(Key::create_file(&p).is_err(), "never overwritten");
        let junk = dir.path().join("junk");
        std::fs::write(&junk, "hello").unwrap();
        assert!(format!("{:#}", Key::load(&junk).unwrap_err()).contains("not a gijiroku key file"));
    }
}
