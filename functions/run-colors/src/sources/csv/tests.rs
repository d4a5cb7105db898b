//! The reader against the `csv` crate on random input, and its errors at the right line.

use super::*;

/// Every record of `input` as the `csv` crate reads it with the defaults this reader
/// follows (any width allowed here: the widths are checked by `next_record`).
fn expected(input: &[u8]) -> Result<Vec<Vec<String>>, ()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| ())?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

/// Every record of `input` as this reader reads it, with a `buffer`-byte starting buffer.
fn actual(input: &[u8], buffer: usize) -> Result<Vec<Vec<String>>, ()> {
    let mut source = CsvSource::unread(input, "test".into(), buffer);
    let mut rows = Vec::new();
    let mut record = Record::new();
    while source.read(&mut record).map_err(|_| ())? {
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

#[test]
fn reads_what_the_csv_crate_reads_on_random_input() {
    // Short random texts over the bytes that matter to CSV, plus a two-byte character
    // and a bare `\r`; every buffer size from tiny (a refill inside every record) up.
    const ALPHABET: [&str; 12] = [
        "a", "b", ",", ",", "\"", "\n", "\r", "\r\n", " ", "é", "\\", "\t",
    ];
    let mut rng = orabridge_shared::testkit::TestRng::new(0x2545_f491_4f6c_dd1d);
    for case in 0..4_000 {
        let len = rng.below(40) as usize;
        let input: String = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect();
        let want = expected(input.as_bytes()).expect("valid UTF-8 by construction");
        for buffer in [1, 3, 7, BUFFER] {
            let got = actual(input.as_bytes(), buffer);
            assert_eq!(
                got,
                Ok(want.clone()),
                "case {case}, buffer {buffer}: {input:?}"
            );
        }
    }
}

#[test]
fn quoted_cells_unquote_and_plain_lines_split() {
    let input = "ID,CUSIP,COMMENT\r\nA,C1,\"say \"\"hi\"\", then\nbye\"\nB,C2,\n\n\nC,C3,x";
    let rows = actual(input.as_bytes(), BUFFER).expect("valid");
    assert_eq!(
        rows,
        vec![
            vec!["ID", "CUSIP", "COMMENT"],
            vec!["A", "C1", "say \"hi\", then\nbye"],
            vec!["B", "C2", ""],
            vec!["C", "C3", "x"],
        ]
    );
}

/// The error that stops reading `source`; panics if there is none.
fn first_error(source: &mut CsvSource<&[u8]>) -> SourceError {
    let mut record = Record::new();
    loop {
        match source.next_record(&mut record) {
            Ok(false) => panic!("no error"),
            Ok(true) => continue,
            Err(err) => return err,
        }
    }
}

#[test]
fn a_record_of_the_wrong_width_is_reported_at_its_line() {
    let input = "ID,CUSIP\nA,\"C\n1\"\n\nB,C1,extra\n";
    let mut source = CsvSource::new(input.as_bytes(), "csv:t".into()).expect("header");
    let mut record = Record::new();
    assert!(source.next_record(&mut record).expect("row 1"));
    assert_eq!(record.get(1), Some("C\n1"));
    let mut source = CsvSource::new(input.as_bytes(), "csv:t".into()).expect("header");
    let err = first_error(&mut source);
    let cause = std::error::Error::source(&err).expect("cause").to_string();
    assert_eq!(err.to_string(), "csv:t is malformed at line 5");
    assert_eq!(cause, "the record has 3 cells, the header 2");
    // A narrow record on a whole line of the fast gear, after a wide one's line number.
    let input = "ID,CUSIP\nA,C1\nB\n";
    let mut source = CsvSource::new(input.as_bytes(), "csv:t".into()).expect("header");
    let err = first_error(&mut source);
    assert_eq!(err.to_string(), "csv:t is malformed at line 3");
}

#[test]
fn bytes_that_are_not_utf8_are_reported_on_either_path() {
    for (input, line) in [
        (&b"ID,CUSIP\nA,C\xff\n"[..], 2),
        (&b"ID,CUSIP\nA,C1\n\"B\xff\",C2\n"[..], 3),
        (&b"ID,CUSIP\nA,C1\nB,C2\nC,\xe9\nD,C4\n"[..], 4),
        // Half a character in each of two fields: the record's text without its delimiters
        // is valid UTF-8, its fields are not (found by the run_colors_csv fuzz target).
        (&b"ID,CUSIP\n\"A\xd3\",\xb4\n"[..], 2),
        (&b"ID,CUSIP\nA,C1\n\xd3,\"\xb4\"\n"[..], 3),
    ] {
        let mut source = CsvSource::new(input, "csv:t".into()).expect("header");
        let err = first_error(&mut source);
        assert_eq!(
            err.to_string(),
            format!("csv:t is malformed at line {line}"),
            "{input:?}"
        );
    }
}

#[test]
fn a_header_split_inside_a_character_is_an_error_not_a_panic() {
    // The fuzz finding's own start: `\xd3,\xb4` joins into 'Ӵ' once the comma is gone.
    let input = &b"\"\xd3\",\xb4]--\nA,C1\n"[..];
    let err = match CsvSource::new(input, "csv:t".into()) {
        Err(err) => err,
        Ok(mut source) => first_error(&mut source),
    };
    assert!(err.to_string().contains("csv:t"), "{err}");
}

#[test]
fn an_empty_file_has_no_columns_and_no_rows() {
    let mut source = CsvSource::new(&b""[..], "csv:t".into()).expect("empty is readable");
    assert!(source.columns().is_empty());
    assert!(!source.next_record(&mut Record::new()).expect("end"));
}

#[test]
fn a_read_error_is_reported_as_such() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk gone"))
        }
    }
    let err = CsvSource::new(Failing, "csv:t".into())
        .err()
        .expect("no header");
    assert_eq!(err.to_string(), "cannot read the header of csv:t");
    let cause = std::error::Error::source(&err).expect("cause").to_string();
    assert_eq!(cause, "disk gone");
}
