//! The engine on its own: rows in, securities and exclusions out, repeated IDs settled as the
//! spec says, and every stored value given back as it went in.

use super::*;
use crate::order::RankKey;
use crate::row::RowReader;
use crate::sources::Record;

const HEADER: [&str; 7] = [
    "ID",
    "CUSIP",
    "SOURCE",
    "RANK",
    "COLOR_DATE",
    "PRICE",
    "NOTE",
];

fn record(cells: [&str; 7]) -> Record {
    let mut record = Record::new();
    for cell in cells {
        record.push_field(cell);
    }
    record
}

/// An engine fed `rows`; a row with a `RULE:` note is excluded by rule 0, one that does not
/// validate is excluded as invalid, the rest are included.
fn engine_of(rows: &[[&str; 7]]) -> Ranked {
    let header: Vec<String> = HEADER.iter().map(|c| (*c).to_owned()).collect();
    let mut reader = RowReader::new(&header).expect("header");
    let mut engine = Engine::new(reader.passthrough_names().len(), None);
    for cells in rows {
        let record = record(*cells);
        match reader.read(&record) {
            Err(invalid) => engine
                .exclude(
                    invalid.id,
                    invalid.cusip,
                    Exclusion::Invalid(invalid.columns),
                )
                .expect("room"),
            Ok(row) if cells[6].starts_with("RULE:") => engine
                .exclude(row.id, row.cusip, Exclusion::Rules(&[0]))
                .expect("room"),
            Ok(row) => engine.include(&row).expect("room"),
        }
    }
    engine.finish(PriceOrder::Desc).expect("room")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

fn excluded(ranked: &Ranked) -> Vec<(String, String, String)> {
    ranked
        .excluded()
        .map(|row| {
            let why = match row.why {
                Exclusion::Invalid(columns) => columns.reasons().collect::<Vec<_>>().join(";"),
                Exclusion::Rules(rules) => format!("rules {rules:?}"),
            };
            (text(row.id), text(row.cusip), why)
        })
        .collect()
}

fn securities(ranked: &Ranked) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut securities = ranked.securities();
    while let Some(security) = securities.next_security() {
        let ids = security.rows.iter().map(|row| text(row.id)).collect();
        found.push((text(security.cusip), ids));
    }
    found
}

#[test]
fn a_repeated_id_is_excluded_in_its_input_place_whatever_became_of_the_first() {
    let ranked = engine_of(&[
        ["A", "C1", "", "1", "", "", ""],
        ["B", "C2", "", "1", "", "", "RULE: excluded by a rule"],
        ["C", "C1", "", "2", "", "", ""],
        ["A", "C3", "", "1", "", "", "repeats an included row"],
        ["D", "C2", "", "x", "", "", "invalid rank"],
        [
            "B",
            "C2",
            "",
            "1",
            "",
            "",
            "RULE: repeats, and matches the rule too",
        ],
        [
            "D",
            "C2",
            "",
            "y",
            "",
            "z",
            "repeats an invalid row, and is invalid itself",
        ],
        ["E", "C3", "", "1", "", "", ""],
    ]);
    assert_eq!(
        excluded(&ranked),
        [
            ("B".into(), "C2".into(), "rules [0]".into()),
            ("A".into(), "C3".into(), "invalid:ID".into()),
            ("D".into(), "C2".into(), "invalid:RANK".into()),
            ("B".into(), "C2".into(), "invalid:ID".into()),
            (
                "D".into(),
                "C2".into(),
                "invalid:ID;invalid:RANK;invalid:PRICE".into()
            ),
        ]
    );
    assert_eq!(
        securities(&ranked),
        [
            ("C1".into(), vec!["A".into(), "C".into()]),
            ("C3".into(), vec!["E".into()]),
        ]
    );
    let counts = ranked.counts();
    assert_eq!((counts.input, counts.included, counts.excluded), (8, 3, 5));
    assert_eq!(ranked.security_count(), 2);
}

#[test]
fn a_security_whose_rows_all_repeat_earlier_ids_is_gone_and_late_rows_keep_their_order() {
    let ranked = engine_of(&[
        ["X", "C1", "", "", "", "", ""],
        ["Y", "C1", "", "", "", "", ""],
        ["X", "C9", "", "", "", "", ""],
        ["Y", "C9", "", "", "", "", ""],
    ]);
    assert_eq!(
        securities(&ranked),
        [("C1".into(), vec!["X".into(), "Y".into()])]
    );
    let ids: Vec<String> = excluded(&ranked).into_iter().map(|(id, ..)| id).collect();
    assert_eq!(ids, ["X", "Y"]);
    assert!(
        excluded(&ranked)
            .iter()
            .all(|(_, cusip, why)| cusip == "C9" && why == "invalid:ID")
    );
}

#[test]
fn every_value_and_cell_comes_back_from_the_arena_as_it_went_in() {
    let long = "x".repeat(300);
    let edge = "y".repeat(255);
    let ranked = engine_of(&[
        [
            "R1",
            "C1",
            "",
            "-3",
            "2026-11-20T10:00:00.5Z",
            "-0.0",
            "a,b",
        ],
        ["R2", "C1", &long, "", "", "1e300", &edge],
        ["R3", "C1", "ü", "9223372036854775807", "0001-01-01", "", ""],
    ]);
    let mut securities = ranked.securities();
    let security = securities.next_security().expect("one security");
    let rows: Vec<_> = security
        .rows
        .iter()
        .map(|row| {
            let cells: Vec<&[u8]> = row.passthrough.clone().collect();
            (row.id, row.source, row.price, row.key, cells, row.plain)
        })
        .collect();
    let date = crate::values::parse_timestamp;
    // Ranked: R1 (rank -3), R3 (rank i64::MAX), then R2 (no rank).
    let expected = [
        (
            &b"R1"[..],
            &b""[..],
            &b"-0.0"[..],
            RankKey {
                rank: Some(-3),
                color_date: date("2026-11-20T10:00:00.5Z"),
                price: Some(-0.0),
            },
            vec![&b"a,b"[..]],
            false,
        ),
        (
            &b"R3"[..],
            "ü".as_bytes(),
            &b""[..],
            RankKey {
                rank: Some(i64::MAX),
                color_date: date("0001-01-01"),
                price: None,
            },
            vec![&b""[..]],
            true,
        ),
        (
            &b"R2"[..],
            long.as_bytes(),
            &b"1e300"[..],
            RankKey {
                rank: None,
                color_date: None,
                price: Some(1e300),
            },
            vec![edge.as_bytes()],
            true,
        ),
    ];
    assert_eq!(rows, expected);
    assert!(
        rows[0].3.price.is_some_and(f64::is_sign_negative),
        "-0.0 kept its sign"
    );
    assert!(securities.next_security().is_none());
}
