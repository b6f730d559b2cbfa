//! `callscope precompress DIR`: writes `<file>.br` (brotli, quality 11) and `<file>.gz`
//! (gzip, level 9) beside every text or wasm file of the built viewer, once at build time,
//! so the server sends those (`ServeDir`'s pre-compressed files) instead of compressing
//! the wasm for every response at a fast level. A variant no smaller than its file is not
//! written (and an older one is removed). Each is written to a temporary file and renamed.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Extensions worth compressing (the rest, e.g. images, are compressed already).
const EXTENSIONS: &[&str] = &["wasm", "js", "css", "html", "svg", "json", "txt", "map"];
/// Files smaller than this gain nothing worth a second request path.
const MIN_BYTES: u64 = 512;

/// One file's sizes: raw, brotli and gzip (`None`: not written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    pub path: PathBuf,
    pub raw: usize,
    pub brotli: Option<usize>,
    pub gzip: Option<usize>,
}

/// Compresses every eligible file under `dir`.
pub fn precompress(dir: &Path) -> std::io::Result<Vec<Compressed>> {
    let mut out = Vec::new();
    for path in files(dir)? {
        let eligible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e));
        if !eligible || std::fs::metadata(&path)?.len() < MIN_BYTES {
            continue;
        }
        let raw = std::fs::read(&path)?;
        let brotli = write_smaller(&path, "br", &raw, brotli_of(&raw)?)?;
        let gzip = write_smaller(&path, "gz", &raw, gzip_of(&raw)?)?;
        out.push(Compressed {
            path,
            raw: raw.len(),
            brotli,
            gzip,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

fn brotli_of(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 24);
        writer.write_all(raw)?;
    }
    Ok(out)
}

fn gzip_of(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(raw)?;
    encoder.finish()
}

/// Writes `<path>.<ext>` when `packed` is smaller than `raw`; its size if written.
fn write_smaller(
    path: &Path,
    ext: &str,
    raw: &[u8],
    packed: Vec<u8>,
) -> std::io::Result<Option<usize>> {
    let mut target = path.as_os_str().to_owned();
    target.push(format!(".{ext}"));
    let target = PathBuf::from(target);
    if packed.len() >= raw.len() {
        match std::fs::remove_file(&target) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => return Ok(None),
        }
    }
    let mut temp = target.as_os_str().to_owned();
    temp.push(".tmp");
    std::fs::write(&temp, &packed)?;
    std::fs::rename(&temp, &target)?;
    Ok(Some(packed.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn text_and_wasm_get_both_variants_that_decompress_to_the_file() {
        let dir =
            std::env::temp_dir().join(format!("callscope_precompress_{}", std::process::id()));
        std::fs::create_dir_all(dir.join("nested")).unwrap();
        let js = "function hello() { return 'hello'; }\n".repeat(200);
        std::fs::write(dir.join("nested/app.js"), &js).unwrap();
        std::fs::write(dir.join("tiny.css"), "a{}").unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        std::fs::write(dir.join("noise.wasm"), &noise).unwrap();
        std::fs::write(dir.join("logo.png"), vec![7u8; 4096]).unwrap();
        let done = precompress(&dir).unwrap();
        let names: Vec<String> = done
            .iter()
            .map(|c| c.path.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["nested/app.js", "noise.wasm"]);
        let br = std::fs::read(dir.join("nested/app.js.br")).unwrap();
        let mut unpacked = String::new();
        brotli::Decompressor::new(br.as_slice(), 4096)
            .read_to_string(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, js);
        let gz = std::fs::read(dir.join("nested/app.js.gz")).unwrap();
        let mut unpacked = String::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_string(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, js);
        assert!(done[0].brotli.unwrap() < done[0].gzip.unwrap());
        // Incompressible: nothing written; small or already compressed files: untouched.
        assert_eq!((done[1].brotli, done[1].gzip), (None, None));
        for absent in [
            "noise.wasm.br",
            "noise.wasm.gz",
            "tiny.css.br",
            "logo.png.br",
        ] {
            assert!(!dir.join(absent).exists(), "{absent}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
