//! Just enough MP3 for recordings: silent audio to stand in for a recording (tests, demo
//! data) and a check that bytes look like MP3 before they are stored or served.
//!
//! The silence is MPEG-1 Layer III, 32 kbit/s, 48 kHz, mono, constant bitrate: frames of
//! exactly 96 bytes (`144 × 32000 / 48000`, never padded), 1152 samples = 24 ms each. Every
//! frame is the 4-byte header `FF FB 14 C4` followed by zeros: zeroed side information
//! (`main_data_begin` 0, `part2_3_length` 0, `big_values` 0, …) says "no coded samples", so
//! a decoder outputs silence; zeroed main data is unused padding. With a constant bitrate a
//! player's duration estimate (size × 8 / bitrate) is exact: `frames × 24 ms`.

/// Bytes of one frame: `144 × bitrate / sample rate` (no padding at 48 kHz).
const FRAME_LEN: usize = 96;
/// Milliseconds of one frame: 1152 samples at 48 kHz.
const FRAME_MS: u32 = 24;
/// Sync (11 bits), MPEG-1, Layer III, no CRC; bitrate index 1 (32 kbit/s), 48 kHz, no
/// padding; mono, no copyright, original, no emphasis.
const FRAME_HEADER: [u8; 4] = [0xFF, 0xFB, 0x14, 0xC4];

/// A valid MP3 of silence lasting `duration_ms` rounded up to whole 24 ms frames, at least
/// one frame (so even `0` gives a playable file). 4 000 bytes a second.
pub fn silent_mp3(duration_ms: u32) -> Vec<u8> {
    let frames = duration_ms.div_ceil(FRAME_MS).max(1) as usize;
    let mut bytes = vec![0u8; frames * FRAME_LEN];
    for frame in bytes.chunks_exact_mut(FRAME_LEN) {
        frame[..FRAME_HEADER.len()].copy_from_slice(&FRAME_HEADER);
    }
    bytes
}

/// Whether `bytes` start like an MP3 file: an ID3v2 tag (`ID3`, a version byte and
/// revision that are not `FF`, and a syncsafe size), or an MPEG audio frame header (11 sync
/// bits, then a version, layer, bitrate and sample rate that are not the reserved or "bad"
/// values). Looks at the first 10 bytes only; it does not decode the file.
pub fn looks_like_mp3(bytes: &[u8]) -> bool {
    starts_with_id3v2(bytes) || starts_with_frame_header(bytes)
}

fn starts_with_id3v2(bytes: &[u8]) -> bool {
    match bytes {
        [b'I', b'D', b'3', major, minor, _flags, size @ ..] if size.len() >= 4 => {
            *major != 0xFF && *minor != 0xFF && size[..4].iter().all(|b| b & 0x80 == 0)
        }
        _ => false,
    }
}

fn starts_with_frame_header(bytes: &[u8]) -> bool {
    let [a, b, c, _, ..] = bytes else {
        return false;
    };
    let sync = *a == 0xFF && b & 0xE0 == 0xE0;
    let version = (b >> 3) & 0b11; // 01 is reserved
    let layer = (b >> 1) & 0b11; // 00 is reserved
    let bitrate = c >> 4; // 1111 is "bad"
    let sample_rate = (c >> 2) & 0b11; // 11 is reserved
    sync && version != 0b01 && layer != 0b00 && bitrate != 0b1111 && sample_rate != 0b11
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frame length the header itself implies (MPEG-1 Layer III only), as a decoder
    /// computes it, so the constants above cannot drift from the header's bits.
    fn mpeg1_layer3_frame_len(header: &[u8]) -> usize {
        const KBPS: [usize; 15] = [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ];
        const HZ: [usize; 3] = [44_100, 48_000, 32_000];
        assert_eq!(header[1] & 0xFE, 0xFA, "MPEG-1 Layer III");
        let kbps = KBPS[usize::from(header[2] >> 4)];
        let hz = HZ[usize::from((header[2] >> 2) & 0b11)];
        let padding = usize::from((header[2] >> 1) & 1);
        144 * kbps * 1000 / hz + padding
    }

    #[test]
    fn silence_is_whole_frames_of_the_requested_length() {
        for (ms, frames) in [(0, 1), (1, 1), (24, 1), (25, 2), (1000, 42), (3000, 125)] {
            let mp3 = silent_mp3(ms);
            assert_eq!(mp3.len(), frames * FRAME_LEN, "{ms} ms");
            // Walk the file frame by frame as a decoder does: each header gives the next.
            let mut at = 0;
            let mut walked = 0;
            while at < mp3.len() {
                assert!(looks_like_mp3(&mp3[at..]), "frame {walked} of {ms} ms");
                assert_eq!(mp3[at..at + 4], FRAME_HEADER);
                let len = mpeg1_layer3_frame_len(&mp3[at..]);
                assert_eq!(len, FRAME_LEN);
                // Side information (17 bytes for mono) and main data are all zero.
                assert!(mp3[at + 4..at + len].iter().all(|&b| b == 0));
                at += len;
                walked += 1;
            }
            assert_eq!((at, walked), (mp3.len(), frames));
            // A player's estimate from a constant bitrate: bytes × 8 / 32 kbit/s.
            let estimated_ms = mp3.len() * 8 * 1000 / 32_000;
            assert_eq!(estimated_ms, frames * FRAME_MS as usize);
            // Never shorter than asked, and less than a frame longer.
            let asked = ms as usize;
            assert!(
                (asked..asked + 24).contains(&estimated_ms) || ms == 0,
                "{ms} ms"
            );
        }
    }

    #[test]
    fn the_header_is_mono_48khz_32kbps_without_crc() {
        let h = FRAME_HEADER;
        assert_eq!((h[0], h[1] >> 5), (0xFF, 0b111), "sync");
        assert_eq!((h[1] >> 3) & 0b11, 0b11, "MPEG-1");
        assert_eq!((h[1] >> 1) & 0b11, 0b01, "Layer III");
        assert_eq!(h[1] & 1, 1, "no CRC");
        assert_eq!(h[2] >> 4, 1, "32 kbit/s");
        assert_eq!((h[2] >> 2) & 0b11, 0b01, "48 kHz");
        assert_eq!((h[2] >> 1) & 1, 0, "no padding");
        assert_eq!(h[3] >> 6, 0b11, "mono");
    }

    #[test]
    fn recognises_id3_tags_and_frame_headers() {
        // An ID3v2.4 tag of 257 bytes (syncsafe 0x00 0x00 0x02 0x01).
        assert!(looks_like_mp3(b"ID3\x04\x00\x00\x00\x00\x02\x01TIT2"));
        assert!(looks_like_mp3(b"ID3\x03\x00\x40\x00\x00\x00\x00"));
        // The common 128 kbit/s 44.1 kHz joint-stereo header, MPEG-2 and MPEG-2.5 Layer III,
        // MPEG-1 Layer II, a CRC-protected frame.
        for header in [
            [0xFF, 0xFB, 0x90, 0x64],
            [0xFF, 0xF3, 0x14, 0xC4],
            [0xFF, 0xE3, 0x18, 0xC4],
            [0xFF, 0xFD, 0x90, 0x64],
            [0xFF, 0xFA, 0x90, 0x64],
        ] {
            assert!(looks_like_mp3(&header), "{header:02X?}");
        }
    }

    #[test]
    fn rejects_what_is_not_mp3() {
        for bytes in [
            &b""[..],
            b"I",
            b"ID3",
            b"ID3\x04\x00\x00\x00\x00\x02", // a tag header cut short
            b"ID3\xFF\x00\x00\x00\x00\x00\x00", // version FF
            b"ID3\x04\x00\x00\x80\x00\x00\x00", // size not syncsafe
            b"RIFF\x24\x08\x00\x00WAVEfmt ", // WAV
            b"OggS\x00\x02\x00\x00",        // Ogg
            b"fLaC\x00\x00\x00\x22",        // FLAC
            b"<html><body>",
            b"{\"error\": \"Not found\"}",
            &[0xFF, 0xFB, 0x90],       // a header cut short
            &[0xFF, 0x1B, 0x90, 0x64], // sync bits missing
            &[0xFF, 0xEB, 0x90, 0x64], // version 01 (reserved)
            &[0xFF, 0xF9, 0x90, 0x64], // layer 00 (reserved)
            &[0xFF, 0xFB, 0xF0, 0x64], // bitrate 1111 (bad)
            &[0xFF, 0xFB, 0x9C, 0x64], // sample rate 11 (reserved)
            &[0x00; 16],
        ] {
            assert!(!looks_like_mp3(bytes), "{bytes:02X?}");
        }
    }
}
