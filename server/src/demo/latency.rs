//! Per-turn latency of the voice pipeline: LLM time to first token, when text-to-speech
//! starts, and TTS time to first audio. Shaped like real traces: a log-normal body and a
//! few slow outliers, because those outliers are what the debug view is for.

use callscope_shared::latency::ReplyTiming;

use super::random::{DemoRng, between, chance, lognormal};

/// Share of turns with one slow stage (1.5–4 s).
pub const OUTLIER_SHARE: f64 = 0.03;
/// Where an outlier starts: anything at or above this is "slow".
pub const SLOW_MS: i64 = 1_500;

/// One assistant turn's latency, in milliseconds from the start of the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnLatency {
    pub llm_ttfb_ms: i64,
    pub tts_start_ms: i64,
    pub tts_ttfb_ms: i64,
}

impl TurnLatency {
    /// When the caller starts hearing the assistant, from the start of the turn: its time
    /// to first audio, as the debug view ranks turns by it.
    pub fn audio_at_ms(self) -> i64 {
        let ms = |v: i64| u32::try_from(v).ok();
        ReplyTiming::new(
            ms(self.llm_ttfb_ms),
            ms(self.tts_start_ms),
            ms(self.tts_ttfb_ms),
        )
        .map_or(0, |t| i64::from(t.time_to_first_audio_ms()))
    }
}

/// A turn's latency: LLM ~350 ms median, TTS starts 100–200 ms after the first token,
/// TTS first audio 80–200 ms; in ~3% of turns the LLM (mostly) or the TTS is slow.
pub fn turn(rng: &mut DemoRng) -> TurnLatency {
    let mut llm = (lognormal(rng, 350.0, 0.35).round() as i64).clamp(120, 1_400);
    let mut tts_ttfb = (lognormal(rng, 125.0, 0.22).round() as i64).clamp(80, 200);
    if chance(rng, OUTLIER_SHARE) {
        let slow = between(rng, SLOW_MS, 4_000);
        if chance(rng, 0.75) {
            llm = slow;
        } else {
            tts_ttfb = slow;
        }
    }
    TurnLatency {
        llm_ttfb_ms: llm,
        tts_start_ms: llm + between(rng, 100, 200),
        tts_ttfb_ms: tts_ttfb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::SeedableRng;

    #[test]
    fn turns_keep_their_shape() {
        let mut rng = DemoRng::seed_from_u64(9);
        let turns: Vec<TurnLatency> = (0..20_000).map(|_| turn(&mut rng)).collect();
        for t in &turns {
            assert!(
                (100..=200).contains(&(t.tts_start_ms - t.llm_ttfb_ms)),
                "{t:?}"
            );
            assert!(t.llm_ttfb_ms >= 120 && t.llm_ttfb_ms <= 4_000);
            assert!(t.tts_ttfb_ms >= 80 && t.tts_ttfb_ms <= 4_000);
        }
        let slow = turns
            .iter()
            .filter(|t| t.llm_ttfb_ms >= SLOW_MS || t.tts_ttfb_ms >= SLOW_MS)
            .count();
        // 3% of 20,000 = 600.
        assert!((450..750).contains(&slow), "{slow} slow turns");
        let mut llm: Vec<i64> = turns.iter().map(|t| t.llm_ttfb_ms).collect();
        llm.sort_unstable();
        assert!((320..380).contains(&llm[llm.len() / 2]));
    }
}
