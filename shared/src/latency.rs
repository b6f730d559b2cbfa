//! "Time to first audio": how long the caller waits, from the start of an assistant turn,
//! until they hear the assistant: TTS start + TTS time to first audio. The server's latency
//! summary ranks turns by it ("slowest turn") and the viewer draws and grades turns by it,
//! so both name the same turn.

use crate::{LatencyTurn, PublicTurn, SlowestTurn};

/// An assistant turn's reply, in ms from the start of the turn, made consistent: the LLM's
/// first token, when TTS starts (never before that token: there is nothing to speak yet),
/// and TTS's time to first audio after it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTiming {
    pub llm_ttfb_ms: u32,
    pub tts_start_ms: u32,
    pub tts_ttfb_ms: u32,
}

impl ReplyTiming {
    /// The timing of a turn's three metrics, `None` when it has none of them. A missing LLM
    /// TTFB or TTS TTFB counts as 0; a missing TTS start, or one before the LLM's first
    /// token, counts as the LLM TTFB.
    pub fn new(
        llm_ttfb_ms: Option<u32>,
        tts_start_ms: Option<u32>,
        tts_ttfb_ms: Option<u32>,
    ) -> Option<Self> {
        if llm_ttfb_ms.is_none() && tts_start_ms.is_none() && tts_ttfb_ms.is_none() {
            return None;
        }
        let llm = llm_ttfb_ms.unwrap_or(0);
        Some(Self {
            llm_ttfb_ms: llm,
            tts_start_ms: tts_start_ms.unwrap_or(llm).max(llm),
            tts_ttfb_ms: tts_ttfb_ms.unwrap_or(0),
        })
    }

    /// Time to first audio: TTS start + TTS time to first audio, from the start of the turn.
    pub fn time_to_first_audio_ms(self) -> u32 {
        self.tts_start_ms.saturating_add(self.tts_ttfb_ms)
    }
}

impl PublicTurn {
    /// This turn's reply timing; `None` for turns without latency (the caller's).
    pub fn reply_timing(&self) -> Option<ReplyTiming> {
        ReplyTiming::new(self.llm_ttfb_ms, self.tts_start_ms, self.tts_ttfb_ms)
    }

    /// This turn's time to first audio; `None` for turns without latency.
    pub fn time_to_first_audio_ms(&self) -> Option<u32> {
        self.reply_timing().map(ReplyTiming::time_to_first_audio_ms)
    }
}

impl LatencyTurn {
    /// This turn's reply timing.
    pub fn reply_timing(&self) -> ReplyTiming {
        ReplyTiming {
            llm_ttfb_ms: self.llm_ttfb_ms,
            tts_start_ms: self.tts_start_ms.max(self.llm_ttfb_ms),
            tts_ttfb_ms: self.tts_ttfb_ms,
        }
    }

    /// This turn's time to first audio.
    pub fn time_to_first_audio_ms(&self) -> u32 {
        self.reply_timing().time_to_first_audio_ms()
    }
}

/// The turn the caller waited longest for audio: the greatest time to first audio, the
/// earliest such turn on a tie; `None` when no turn has latency.
pub fn slowest_turn(turns: &[PublicTurn]) -> Option<SlowestTurn> {
    turns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.time_to_first_audio_ms().map(|ms| (i, ms)))
        .max_by_key(|&(i, ms)| (ms, std::cmp::Reverse(i)))
        .map(|(i, total_ms)| SlowestTurn {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            total_ms,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn turn(llm: Option<u32>, start: Option<u32>, tts: Option<u32>) -> PublicTurn {
        PublicTurn {
            role: if llm.is_some() || start.is_some() || tts.is_some() {
                Role::Assistant
            } else {
                Role::User
            },
            content: String::new(),
            llm_ttfb_ms: llm,
            tts_start_ms: start,
            tts_ttfb_ms: tts,
            timestamp: None,
            tool_calls: vec![],
            interrupted: false,
            stt_ms: None,
        }
    }

    #[test]
    fn time_to_first_audio_is_tts_start_plus_tts_ttfb() {
        assert_eq!(
            turn(Some(350), Some(480), Some(120)).time_to_first_audio_ms(),
            Some(600)
        );
        let stored = LatencyTurn {
            turn: 1,
            ts: 0.0,
            llm_ttfb_ms: 350,
            tts_start_ms: 480,
            tts_ttfb_ms: 120,
        };
        assert_eq!(stored.time_to_first_audio_ms(), 600);
    }

    #[test]
    fn odd_or_missing_metrics_are_made_consistent() {
        assert_eq!(turn(None, None, None).time_to_first_audio_ms(), None);
        // TTS cannot start before the first token.
        assert_eq!(
            turn(Some(500), Some(400), None).reply_timing(),
            Some(ReplyTiming {
                llm_ttfb_ms: 500,
                tts_start_ms: 500,
                tts_ttfb_ms: 0
            })
        );
        assert_eq!(
            turn(Some(500), None, Some(100)).time_to_first_audio_ms(),
            Some(600)
        );
        assert_eq!(
            turn(None, Some(300), Some(100)).time_to_first_audio_ms(),
            Some(400)
        );
        assert_eq!(
            turn(Some(u32::MAX), None, Some(5)).time_to_first_audio_ms(),
            Some(u32::MAX)
        );
    }

    #[test]
    fn the_slowest_turn_is_the_longest_wait_for_audio_not_llm_plus_tts_ttfb() {
        let turns = [
            // LLM + TTS TTFB = 900, but audio after 1000.
            turn(Some(400), Some(500), Some(500)),
            turn(None, None, None),
            // LLM + TTS TTFB = 700, but TTS starts late: audio after 1500.
            turn(Some(300), Some(1100), Some(400)),
        ];
        assert_eq!(
            slowest_turn(&turns),
            Some(SlowestTurn {
                index: 2,
                total_ms: 1500
            })
        );
    }

    #[test]
    fn ties_go_to_the_earliest_turn_and_no_latency_means_none() {
        let turns = [
            turn(None, None, None),
            turn(Some(100), Some(300), Some(100)),
            turn(Some(200), Some(300), Some(100)),
        ];
        assert_eq!(slowest_turn(&turns).map(|s| s.index), Some(1));
        assert_eq!(slowest_turn(&turns[..1]), None);
        assert_eq!(slowest_turn(&[]), None);
    }
}
