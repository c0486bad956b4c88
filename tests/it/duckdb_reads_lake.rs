//! DuckDB (what many analysts point at a lake first) reads the lake with the documented column
//! types. Needs the `duckdb` Python package, which `scripts/test` installs.

use crate::common::*;

#[test]
fn duckdb_reads_the_lake_with_documented_types() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    put(
        &src,
        &flow_key(8, 1),
        &gz(flow_text(50, 1_767_866_700).as_bytes()),
    );
    let doc = format!(
        r#"{{"Records":[{}]}}"#,
        ct_event("e-1", "StopLogging", "2026-01-08T10:06:00Z")
    );
    put(&src, &ct_key(8, 1), &gz(doc.as_bytes()));
    let out = replay(&src, &lake, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let script = r#"
import duckdb, json, sys
lake = sys.argv[1]
con = duckdb.connect()
res = {}
for t in ("flows", "cloudtrail"):
    rel = con.sql(f"SELECT * FROM read_parquet('{lake}/{t}/**/*.parquet', hive_partitioning=true, hive_types={{'account_id':'VARCHAR','region':'VARCHAR','date':'DATE','hour':'INTEGER'}})")
    res[t] = dict(zip(rel.columns, [str(x) for x in rel.types]))
    res[t + "_rows"] = con.execute(f"SELECT COUNT(*) FROM read_parquet('{lake}/{t}/**/*.parquet')").fetchone()[0]
res["acct"] = con.execute(f"SELECT DISTINCT account_id FROM read_parquet('{lake}/flows/**/*.parquet')").fetchone()[0]
print(json.dumps(res))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&lake)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "DuckDB could not read the lake (is the duckdb Python package installed? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["flows"];
    assert_eq!(f["srcport"], "INTEGER");
    assert_eq!(f["protocol"], "INTEGER");
    assert_eq!(f["bytes"], "BIGINT");
    assert_eq!(f["start"], "BIGINT");
    assert_eq!(f["account_id"], "VARCHAR");
    assert_eq!(f["event_time"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(f["extra_fields"], "MAP(VARCHAR, VARCHAR)");
    assert_eq!(v["cloudtrail"]["event_time"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(v["cloudtrail"]["read_only"], "BOOLEAN");
    assert_eq!(v["cloudtrail"]["request_parameters"], "VARCHAR");
    assert_eq!(v["flows_rows"], 50);
    assert_eq!(v["cloudtrail_rows"], 1);
    assert_eq!(v["acct"], ACCT, "leading zero kept");
}

#[test]
fn duckdb_reads_the_inventory_and_joins_it_to_flows() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    put(
        &src,
        &flow_key(8, 1),
        &gz(flow_text(20, 1_767_866_700).as_bytes()),
    );
    // The instance behind the flows' interface, launched an hour before them.
    let launch = ct_event("e-run", "RunInstances", "2026-01-08T09:00:00Z").replace(
        r#""responseElements":null"#,
        r#""responseElements":{"instancesSet":{"items":[{"instanceId":"i-0feed","imageId":"ami-1","privateIpAddress":"10.0.2.9","subnetId":"subnet-1","vpcId":"vpc-1","groupSet":{"items":[{"groupId":"sg-1"},{"groupId":"sg-2"}]},"tagSet":{"items":[{"key":"Name","value":"web-1"}]},"networkInterfaceSet":{"items":[{"networkInterfaceId":"eni-0a1b2c3d","privateIpAddress":"10.0.2.9"}]}}]}}"#,
    );
    put(
        &src,
        &ct_key(8, 1),
        &gz(format!(r#"{{"Records":[{launch}]}}"#).as_bytes()),
    );
    let out = replay(&src, &lake, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let script = r#"
import duckdb, json, sys
lake = sys.argv[1]
con = duckdb.connect()
inv = f"read_parquet('{lake}/inventory/**/*.parquet', hive_partitioning=true)"
flows = f"read_parquet('{lake}/flows/**/*.parquet', hive_partitioning=true)"
rel = con.sql(f"SELECT * FROM {inv}")
res = {"types": dict(zip(rel.columns, [str(x) for x in rel.types]))}
res["rows"] = con.execute(f"SELECT interface_id, instance_id, name, len(security_groups) FROM {inv}").fetchall()
res["joined"] = con.execute(f"""
SELECT i.instance_id, i.name, count(*) FROM {flows} f
JOIN {inv} i ON f.interface_id = i.interface_id
 AND f.event_time >= i.valid_from AND (i.valid_to IS NULL OR f.event_time < i.valid_to)
WHERE i.snapshot_time = (SELECT max(snapshot_time) FROM {inv})
GROUP BY 1, 2""").fetchall()
print(json.dumps(res, default=str))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&lake)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "DuckDB could not read the inventory (is the duckdb Python package installed? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &v["types"];
    assert_eq!(t["interface_id"], "VARCHAR");
    assert_eq!(t["valid_from"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(t["security_groups"], "VARCHAR[]");
    assert_eq!(
        v["rows"],
        serde_json::json!([["eni-0a1b2c3d", "i-0feed", "web-1", 2]])
    );
    assert_eq!(v["joined"], serde_json::json!([["i-0feed", "web-1", 20]]));
}
