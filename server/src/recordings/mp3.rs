//! Just enough MP3 to check a download and to make audio: what the simulated provider and
//! the demo record is silence, as real MPEG-2 Layer III frames (16 kHz, 8 kbit/s, mono)
//! any player decodes; what a provider's URL gives is checked to start like an MP3.

/// One silent frame's header: sync, MPEG-2, Layer III, no CRC; 8 kbit/s, 16 kHz, no
/// padding; mono.
const SILENT_HEADER: [u8; 4] = [0xFF, 0xF3, 0x18, 0xC0];
/// 72 × 8000 / 16000 bytes: the header, nine bytes of zero side information (no audio
/// data: silence) and zero padding.
const FRAME_BYTES: usize = 36;
/// 576 samples at 16 kHz.
const FRAME_MS: u32 = 36;

/// `duration_ms` of silence (rounded up to whole frames; at least one) as an MP3 file.
pub fn silent_mp3(duration_ms: u32) -> Vec<u8> {
    let frames = duration_ms.div_ceil(FRAME_MS).max(1) as usize;
    let mut bytes = vec![0u8; frames * FRAME_BYTES];
    for frame in bytes.chunks_exact_mut(FRAME_BYTES) {
        frame[..4].copy_from_slice(&SILENT_HEADER);
    }
    bytes
}

/// Whether `bytes` start as an MP3 file does: an ID3v2 tag, or an MPEG audio Layer III
/// frame header (frame sync, a known version, a usable bitrate and sample rate).
pub fn looks_like_mp3(bytes: &[u8]) -> bool {
    match bytes {
        [b'I', b'D', b'3', major, _, _, size @ ..] if size.len() >= 4 => {
            *major != 0xFF && size[..4].iter().all(|b| b & 0x80 == 0)
        }
        [0xFF, b1, b2, ..] => {
            let version = (b1 >> 3) & 0b11;
            let layer = (b1 >> 1) & 0b11;
            let bitrate = b2 >> 4;
            let sample_rate = (b2 >> 2) & 0b11;
            b1 & 0xE0 == 0xE0
                && version != 0b01
                && layer == 0b01
                && bitrate != 0 // free format: not what providers send
                && bitrate != 0b1111
                && sample_rate != 0b11
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_whole_frames_of_the_asked_length() {
        assert_eq!(silent_mp3(0).len(), FRAME_BYTES);
        assert_eq!(silent_mp3(36).len(), FRAME_BYTES);
        assert_eq!(silent_mp3(37).len(), 2 * FRAME_BYTES);
        let minute = silent_mp3(60_000);
        // 8 kbit/s: a kilobyte a second.
        assert_eq!(minute.len(), 60_000usize.div_ceil(36) * FRAME_BYTES);
        for frame in minute.chunks_exact(FRAME_BYTES) {
            assert_eq!(frame[..4], SILENT_HEADER);
            assert!(frame[4..].iter().all(|&b| b == 0));
        }
        assert!(looks_like_mp3(&minute));
    }

    #[test]
    fn mp3_starts_are_told_from_other_files() {
        // An ID3v2.4 tag; a common MPEG-1 Layer III 128 kbit/s 44.1 kHz frame.
        assert!(looks_like_mp3(b"ID3\x04\x00\x00\x00\x00\x01\x7f"));
        assert!(looks_like_mp3(&[0xFF, 0xFB, 0x90, 0x64]));
        for other in [
            &b""[..],
            b"ID3",
            b"ID3\x04\x00\x00\x80\x00\x00\x00", // size bytes are syncsafe
            b"RIFF\x24\x08\x00\x00WAVEfmt ",    // a WAV file
            b"<html><body>Not found</body></html>",
            b"{\"errors\":[]}",
            &[0xFF, 0xFD, 0x90, 0x64], // Layer II
            &[0xFF, 0xEB, 0x90, 0x64], // reserved version
            &[0xFF, 0xFB, 0xF0, 0x64], // bad bitrate
            &[0xFF, 0xFB, 0x9C, 0x64], // reserved sample rate
            &[0xFF, 0x1B, 0x90, 0x64], // no frame sync
        ] {
            assert!(!looks_like_mp3(other), "{other:?}");
        }
    }
}
