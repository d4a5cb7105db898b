//! A deterministic generator of realistic color files: the demo's sample data and the
//! benchmark's million rows come from here, so both can be regenerated bit for bit.
//!
//! "Realistic" means what makes ranking interesting: several colors per CUSIP, ties on rank and
//! date, missing ranks, dates and prices, blocked sources, test CUSIPs, stale and negative
//! colors, repeated IDs, a few broken cells, and two passthrough columns. It also writes, in
//! small shares, every form the spec accepts and the near misses it refuses, so a peer that
//! checks its answers against run-colors on this input implements the whole input contract:
//! timestamps with fractions of any length, offsets or no time at all; ranks written `2.0`,
//! `+3` or with spaces around them, and `nan`, `inf`, `1e300`, `2.5` (not ranks); prices such as
//! `1e300`, `.5` or `1.5E2`, and `inf`, `nan`, `1e400` (not prices).

use std::io::{self, Write};

use run_colors::encode::push_csv_field;
use run_colors::values::{self, Micros};

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

/// xorshift64*: tiny, fast and plenty for test data.
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

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len() as u64) as usize]
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
// Ranks as sources write them that are ranks, and cells that are not (`invalid:RANK`).
const ODD_RANKS: [&str; 6] = [" 2 ", "2.0", "+3", "\t1", "-1", "4.00"];
const NOT_RANKS: [&str; 8] = [
    "n/a",
    "nan",
    "inf",
    "-inf",
    "1e300",
    "2.5",
    "99999999999999999999",
    "1,5",
];
// Prices as sources write them that are prices, and cells that are not (`invalid:PRICE`).
const ODD_PRICES: [&str; 8] = [
    "1e300", "-1e300", "1.5E2", ".5", "99.", "+98.1", " 101.50 ", "007.50",
];
const NOT_PRICES: [&str; 6] = ["TBD", "inf", "nan", "-inf", "1e400", "1.2.3"];

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
    for row in 0..spec.rows {
        line.clear();
        id_cell(&mut rng, row, &mut line);
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
        line.extend_from_slice(SOURCES[rng.below(choices) as usize].as_bytes());
        line.push(b',');
        rank_cell(&mut rng, &mut line);
        line.push(b',');
        color_date_cell(&mut rng, spec.as_of, &mut line);
        line.push(b',');
        price_cell(&mut rng, &mut line);
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

/// `C<row>`; one row in a thousand repeats an earlier row's ID (`invalid:ID`), one in two
/// hundred has spaces around it.
fn id_cell(rng: &mut Rng, row: u64, line: &mut Vec<u8>) {
    let id = match rng.below(1000) {
        0 if row > 0 => rng.below(row),
        _ => row,
    };
    let spaced = rng.below(200) == 0;
    if spaced {
        line.push(b' ');
    }
    line.extend_from_slice(format!("C{id:08}").as_bytes());
    if spaced {
        line.push(b' ');
    }
}

fn rank_cell(rng: &mut Rng, line: &mut Vec<u8>) {
    let rank = match rng.below(1000) {
        0..=1 => rng.pick(&NOT_RANKS).to_owned(),
        2..=11 => rng.pick(&ODD_RANKS).to_owned(),
        12..=111 => String::new(),
        _ => (1 + rng.below(5)).to_string(),
    };
    push_csv_field(line, rank);
}

fn price_cell(rng: &mut Rng, line: &mut Vec<u8>) {
    let price = match rng.below(1000) {
        0..=1 => rng.pick(&NOT_PRICES).to_owned(),
        2..=11 => rng.pick(&ODD_PRICES).to_owned(),
        12..=61 => String::new(),
        62..=66 => format!("-{}.{:02}", rng.below(5), rng.below(100)),
        _ => format!("{}.{:02}", 80 + rng.below(40), rng.below(100)),
    };
    push_csv_field(line, price);
}

/// A time within the 40 days before `as_of`, on the minute (so many colors share one), in the
/// forms the spec accepts and a few it refuses.
fn color_date_cell(rng: &mut Rng, as_of: Micros, line: &mut Vec<u8>) {
    let roll = rng.below(1000);
    if roll == 0 {
        return line.extend_from_slice(rng.pick(&["2026-02-30", "2026-11-20 25:00:00"]).as_bytes());
    }
    if roll < 50 {
        return;
    }
    let minutes = 40 * 24 * 60;
    let when = as_of - (rng.below(minutes) as i64 + 1) * 60_000_000;
    let mut stamp = Vec::with_capacity(40);
    match rng.below(100) {
        // No time at all: midnight UTC.
        0..=2 => {
            values::write_timestamp(&mut stamp, when);
            stamp.truncate(10);
        }
        // An offset: the same instant in another zone's local time.
        3..=7 => {
            let (offset, text) = match rng.below(2) {
                0 => (3_600, "+01:00"),
                _ => (-19_800, "-05:30"),
            };
            values::write_timestamp(&mut stamp, when + offset * 1_000_000);
            stamp.pop();
            stamp.extend_from_slice(text.as_bytes());
        }
        // A fraction of a second, to the millisecond, the microsecond or the nanosecond.
        8..=17 => {
            let digits = [1, 3, 6, 9][rng.below(4) as usize];
            let fraction = rng.below(10u64.pow(digits));
            values::write_timestamp(&mut stamp, when);
            stamp.pop();
            stamp.extend_from_slice(
                format!(".{fraction:0width$}Z", width = digits as usize).as_bytes(),
            );
        }
        roll => {
            values::write_timestamp(&mut stamp, when);
            if roll % 2 == 0 {
                // The other accepted form: `YYYY-MM-DD HH:MM:SS`, no offset (UTC).
                stamp[10] = b' ';
                stamp.pop();
            }
        }
    }
    if rng.below(50) == 0 {
        line.push(b' ');
        line.extend_from_slice(&stamp);
        line.push(b' ');
    } else {
        line.extend_from_slice(&stamp);
    }
}
