//! A deterministic generator of realistic color files: the demo's sample data and the
//! benchmark's million rows come from here, so both can be regenerated bit for bit.
//!
//! "Realistic" means what makes ranking interesting: several colors per CUSIP, ties on rank and
//! date, missing ranks, dates and prices, blocked sources, test CUSIPs, stale and negative
//! colors, a few broken cells, and two passthrough columns.

use std::io::{self, Write};

use run_colors::encode::push_csv_field;
use run_colors::values;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSpec {
    /// Rows.
    pub rows: u64,
    /// Distinct CUSIPs (about `rows / 5` is typical).
    pub cusips: u64,
    /// PRNG seed.
    pub seed: u64,
    /// The day the colors lead up to (`as_of` of the run that reads them).
    pub as_of: values::Micros,
}

/// xorshift64*: tiny, fast and plenty for test data (and the random cases of the tests).
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from `seed` (zero, which would stay zero, is taken as one).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

const SOURCES: [&str; 8] = [
    "BLOOMBERG",
    "TRADEWEB",
    "MARKETAXESS",
    "ICE",
    "DEALER-A",
    "DEALER-B",
    "TEST",
    "Demo",
];
const DESKS: [&str; 4] = ["RATES", "CREDIT", "MUNIS", "EM"];
const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

fn cusip(index: u64, out: &mut String) {
    // Every 500th security is a test instrument, which the example rules drop.
    if index % 500 == 7 {
        out.push_str("TEST");
    }
    let mut n = index.wrapping_mul(2_654_435_761) ^ 0x5DEE_CE66;
    while out.len() < 9 {
        out.push(ALPHABET[(n % ALPHABET.len() as u64) as usize] as char);
        n /= ALPHABET.len() as u64;
        if n == 0 {
            n = index + 31;
        }
    }
}

/// Writes a CSV with header `ID,CUSIP,SOURCE,RANK,COLOR_DATE,PRICE,DESK,COMMENT`.
pub fn generate(spec: &SampleSpec, out: &mut impl Write) -> io::Result<()> {
    let mut rng = Rng::new(spec.seed);
    let mut line = Vec::with_capacity(128);
    let mut text = String::with_capacity(32);
    out.write_all(b"ID,CUSIP,SOURCE,RANK,COLOR_DATE,PRICE,DESK,COMMENT\n")?;
    let cusips = spec.cusips.max(1);
    // Colors are on the minute within the last 40 days: many share a timestamp.
    let minutes = 40 * 24 * 60;
    for row in 0..spec.rows {
        line.clear();
        line.extend_from_slice(format!("C{row:08}").as_bytes());
        line.push(b',');
        text.clear();
        let security = if row < cusips { row } else { rng.below(cusips) };
        cusip(security, &mut text);
        if rng.percent(2) {
            // Sources type CUSIPs in lower case and with spaces; normalisation folds them.
            text = format!(" {} ", text.to_lowercase());
        }
        if rng.below(2000) == 0 {
            text.clear();
        }
        push_csv_field(&mut line, &text);
        line.push(b',');
        let choices = if rng.percent(3) { 8 } else { 6 };
        let source = SOURCES[rng.below(choices) as usize];
        line.extend_from_slice(source.as_bytes());
        line.push(b',');
        match rng.below(1000) {
            0 => line.extend_from_slice(b"n/a"),
            1..=99 => {}
            _ => line.extend_from_slice((1 + rng.below(5)).to_string().as_bytes()),
        }
        line.push(b',');
        match rng.below(1000) {
            0 => line.extend_from_slice(b"2026-02-30"),
            1..=49 => {}
            roll => {
                let when = spec.as_of - (rng.below(minutes) as i64 + 1) * 60_000_000;
                let mut stamp = Vec::with_capacity(24);
                values::write_timestamp(&mut stamp, when);
                if roll % 2 == 0 {
                    // The other accepted form: `YYYY-MM-DD HH:MM:SS`, no offset (UTC).
                    stamp[10] = b' ';
                    stamp.pop();
                }
                line.extend_from_slice(&stamp);
            }
        }
        line.push(b',');
        match rng.below(1000) {
            0 => line.extend_from_slice(b"TBD"),
            1..=49 => {}
            50..=54 => line
                .extend_from_slice(format!("-{}.{:02}", rng.below(5), rng.below(100)).as_bytes()),
            _ => line.extend_from_slice(
                format!("{}.{:02}", 80 + rng.below(40), rng.below(100)).as_bytes(),
            ),
        }
        line.push(b',');
        line.extend_from_slice(DESKS[rng.below(4) as usize].as_bytes());
        line.push(b',');
        if rng.percent(5) {
            push_csv_field(&mut line, "axed, size \"10mm\"");
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}
