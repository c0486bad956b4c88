-- id: codebuild_project_made_public
-- title: {principal} made CodeBuild project {projects} public
-- severity: high
-- entity: principal:principal
-- dedupe: principal, projects
-- window: 10m
-- table: cloudtrail
-- attack: TA0010 TA0001; T1530 T1213.003
-- description: UpdateProjectVisibility to PUBLIC_READ: anyone can read the project's build
--   logs and artifacts, where environment variables, tokens and source snippets leak.
--   Quiet on routine change: projects made private, other project updates, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    array_to_string(array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 'projectArn'), 'unknown'))), ', ') AS projects,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'codebuild.amazonaws.com'
  AND event_name = 'UpdateProjectVisibility'
  AND error_code IS NULL
  AND json_get_str(request_parameters, 'projectVisibility') = 'PUBLIC_READ'
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
