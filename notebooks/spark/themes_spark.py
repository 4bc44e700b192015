#!/usr/bin/env python3
"""Rebuild `fieldnotes report themes` with Apache Spark from a Parquet export, and check it.

Usage: python themes_spark.py EXPORT_DIR FIELDNOTES_CSV [--by site] [--include-suggested]
                              [--coder NAME ...] [--master URL]

EXPORT_DIR is a folder written by `fieldnotes export parquet` (a local path, or any URI Spark
can read: hdfs://, s3a://, ...). FIELDNOTES_CSV is the table the command line printed for the
same study with the same options: `fieldnotes report themes --by site --format csv` (add
`--include-suggested` or `--coder` to both, or to neither). The CSV is read on the driver.

The counting rule, as the command line's caption states it: the unit is the passage; a code
counts once per passage, however many codings or coders put it there; only accepted codings
count (accepted and suggested with --include-suggested; rejected ones never); codes come in
codebook order, with unused codes as rows of 0; the groups are sorted, a passage without a value
is in `(none)`, then `total`; the first row is the number of passages in each group.

Exits 0 and prints "spark theme table matches fieldnotes: N cells" when every cell agrees;
exits 1 with the differing cells otherwise, and 2 on bad input.
"""

import argparse
import atexit
import csv
import os
import shutil
import sys
import tempfile
import time

SIZES_ROW = "(passages per group)"
NONE_GROUP = "(none)"
TOTAL = "total"
# What --by can group on: columns of the passages tables (site is the partition column).
GROUPINGS = ("site", "kind", "year", "speaker", "section")

# Spark's own start-up chatter goes to stderr at INFO/WARN; print only errors. The root stays at
# WARN, where PySpark expects it, or PySpark announces that it is "Setting default log level".
LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = error
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Check that Spark computes the theme table `fieldnotes report themes` prints."
    )
    ap.add_argument("export", help="folder written by `fieldnotes export parquet`")
    ap.add_argument("fieldnotes_csv", help="`fieldnotes report themes --format csv` output to check")
    ap.add_argument("--by", default="site", choices=GROUPINGS, help="group columns by (default: site)")
    ap.add_argument(
        "--include-suggested",
        action="store_true",
        help="count suggested codings too, as `fieldnotes report themes --include-suggested`",
    )
    ap.add_argument(
        "--coder",
        action="append",
        default=[],
        help="only these coders' codings (repeat, or comma-separate), as `--coder` on the command line",
    )
    ap.add_argument(
        "--master",
        help="Spark master URL (default: the one spark-submit was given, else local[2])",
    )
    a = ap.parse_args(argv)
    a.coder = [c.strip() for x in a.coder for c in x.split(",") if c.strip()]
    return a


def spark_session(master):
    """A SparkSession: the given master, else spark-submit's, else local[2]; a local one is
    quiet, has no web UI and listens on the loopback address only."""
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName("fieldnotes-themes")
    # Keep partition values as strings: a site called "2015" or "007" must stay text.
    b = b.config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    # spark-submit starts the JVM first and hands Python its gateway; its --master then holds.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if master or not submitted:
        b = b.master(master or "local[2]")
    if not submitted and (master or "local[2]").startswith("local"):
        tmp = tempfile.mkdtemp(prefix="fieldnotes-spark-")
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        log4j = os.path.join(tmp, "log4j2.properties")
        with open(log4j, "w") as f:
            f.write(LOG4J2)
        b = (
            b.config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
        )
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_table(spark, export, by, statuses, coders):
    """The theme table as (groups, sizes, rows): groups sorted then `total`; sizes per group;
    rows as (code id, counts per group) in codebook order."""
    from pyspark.sql import functions as F

    export = export.rstrip("/")
    # The passages as a cluster reads them: one folder per site, the site taken from the path.
    passages = (
        spark.read.option("basePath", f"{export}/passages_by_site")
        .parquet(f"{export}/passages_by_site")
        .select("id", "doc", "site", "kind", "year", "speaker", "section")
    )
    value = F.col(by).cast("string")
    passages = passages.select(
        F.col("id").alias("passage"),
        F.when(value.isNull() | (value == ""), F.lit(NONE_GROUP)).otherwise(value).alias("group"),
    )

    codings = spark.read.parquet(f"{export}/codings.parquet").where(F.col("status").isin(statuses))
    if coders:
        # A coding counts for its coder and, once accepted, for whoever accepted it (the
        # `reviewer` column), as on the command line.
        codings = codings.where(
            F.col("coder").isin(coders)
            | ((F.col("status") == "accepted") & F.col("reviewer").isNotNull() & F.col("reviewer").isin(coders))
        )
    codes = spark.read.parquet(f"{export}/codes.parquet").select(F.col("id").alias("code"), "position")
    # One row per (passage, code): a code counts once per passage whatever the codings or coders.
    # Codings of codes outside the codebook drop out here, as in the command line's table.
    coded = (
        codings.select("passage", "code")
        .join(F.broadcast(codes), "code")
        .distinct()
        .join(passages, "passage")
    )

    sizes = {r["group"]: r["n"] for r in passages.groupBy("group").agg(F.count("*").alias("n")).collect()}
    n_passages = sum(sizes.values())
    counts = {
        (r["code"], r["group"]): r["n"]
        for r in coded.groupBy("code", "group").agg(F.count("*").alias("n")).collect()
    }
    totals = {r["code"]: r["n"] for r in coded.groupBy("code").agg(F.count("*").alias("n")).collect()}
    order = [r["code"] for r in codes.orderBy("position").collect()]

    groups = sorted(sizes)  # code-point order, as the command line sorts its groups
    rows = [(c, [counts.get((c, g), 0) for g in groups] + [totals.get(c, 0)]) for c in order]
    return groups + [TOTAL], [sizes[g] for g in groups] + [n_passages], rows


def partition_check(spark, export):
    """Problems with the site partitions, as lines: every passage in passages.parquet must be in
    passages_by_site exactly once, under its own site's folder."""
    from pyspark.sql import functions as F

    export = export.rstrip("/")
    flat = spark.read.parquet(f"{export}/passages.parquet").select(
        "id", F.col("site").alias("flat"), F.lit(True).alias("in_flat")
    )
    parts = (
        spark.read.option("basePath", f"{export}/passages_by_site")
        .parquet(f"{export}/passages_by_site")
        .groupBy("id")
        .agg(F.first("site").alias("part"), F.count("*").alias("copies"))
    )
    # An empty site is written to the default partition, which reads back as null.
    norm = lambda c: F.when(F.col(c) == "", F.lit(None)).otherwise(F.col(c))  # noqa: E731
    bad = flat.join(parts, "id", "full_outer").where(
        F.col("in_flat").isNull()
        | F.col("copies").isNull()
        | (F.col("copies") > 1)
        | ~norm("flat").eqNullSafe(norm("part"))
    )
    kinds = {}
    for r in bad.orderBy("id").limit(10000).collect():
        if r["in_flat"] is None:
            kind = "in passages_by_site but not in passages.parquet"
            line = f"{r['id']} (site {r['part']!r})"
        elif r["copies"] is None:
            kind = "in passages.parquet but in no site partition (written over, or never written)"
            line = f"{r['id']} (site {r['flat']!r})"
        elif r["copies"] > 1:
            kind = "in more than one partition file"
            line = f"{r['id']}: {r['copies']} copies"
        else:
            kind = "under another site's folder"
            line = f"{r['id']}: site {r['flat']!r}, read from its folder as {r['part']!r}"
            if r["part"] and _latin1_misread(r["part"]) == r["flat"]:
                kind += " (Spark decodes each %XX of a folder name as one character, not as UTF-8 bytes)"
        kinds.setdefault(kind, []).append(line)
    out = []
    for kind, lines in kinds.items():
        out.append(f"{len(lines)} passages {kind}, e.g.")
        out.extend(f"  {x}" for x in lines[:3])
    return out


def _latin1_misread(s):
    try:
        return s.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        table = [row for row in csv.reader(f) if row]
    if len(table) < 2 or table[0][:1] != ["code"] or table[1][:1] != [SIZES_ROW]:
        raise ValueError(
            f"{path}: not a theme table from `fieldnotes report themes --format csv` "
            f"(expected a `code` header and a `{SIZES_ROW}` row)"
        )
    header, body = table[0][1:], table[1:]
    rows = []
    for row in body:
        if len(row) != len(header) + 1:
            raise ValueError(f"{path}: row {row[0]!r} has {len(row) - 1} cells for {len(header)} columns")
        try:
            rows.append((row[0], [int(x) for x in row[1:]]))
        except ValueError:
            raise ValueError(
                f"{path}: row {row[0]!r} holds non-integer cells; make the CSV with the default "
                "--unit passages --measure count"
            ) from None
    return header, rows


def compare(cli_header, cli_rows, groups, sizes, rows):
    """Differences between the command line's table and Spark's, as lines; and the cell count."""
    spark_rows = [(SIZES_ROW, sizes)] + rows
    diffs = []
    if cli_header != groups:
        diffs.append(f"columns differ: fieldnotes {cli_header}, spark {groups}")
    cli_labels, spark_labels = [r for r, _ in cli_rows], [r for r, _ in spark_rows]
    if cli_labels != spark_labels:
        diffs.append(f"rows differ: fieldnotes {cli_labels}, spark {spark_labels}")
    cli_cells = {(r, c): v for r, vs in cli_rows for c, v in zip(cli_header, vs)}
    spark_cells = {(r, c): v for r, vs in spark_rows for c, v in zip(groups, vs)}
    for key in list(cli_cells) + [k for k in spark_cells if k not in cli_cells]:
        a, b = cli_cells.get(key, "missing"), spark_cells.get(key, "missing")
        if a != b:
            diffs.append(f"{key[0]} / {key[1]}: fieldnotes {a}, spark {b}")
    return diffs, len(cli_cells)


def main(argv):
    a = parse_args(argv)
    statuses = ["accepted", "suggested"] if a.include_suggested else ["accepted"]
    try:
        cli_header, cli_rows = read_csv(a.fieldnotes_csv)
    except (OSError, ValueError) as e:
        print(f"themes_spark: {e}", file=sys.stderr)
        return 2

    t0 = time.monotonic()
    spark = spark_session(a.master)
    try:
        layout = partition_check(spark, a.export)
        groups, sizes, rows = spark_table(spark, a.export, a.by, statuses, a.coder)
    finally:
        spark.stop()
    seconds = time.monotonic() - t0

    rule = f"by {a.by}; counted: {' and '.join(statuses)} codings by " + (
        f"coders {', '.join(a.coder)}" if a.coder else "all coders"
    )
    diffs, n = compare(cli_header, cli_rows, groups, sizes, rows)
    if layout:
        print("themes_spark: the site partitions disagree with passages.parquet:", file=sys.stderr)
        for line in layout:
            print(f"  {line}", file=sys.stderr)
    if diffs:
        print(f"themes_spark: spark theme table differs from fieldnotes ({rule}):", file=sys.stderr)
        for line in diffs:
            print(f"  {line}", file=sys.stderr)
        return 1
    if layout:
        return 1
    print(f"spark theme table matches fieldnotes: {n} cells ({rule}; spark {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
