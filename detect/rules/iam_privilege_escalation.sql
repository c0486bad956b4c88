-- id: iam_privilege_escalation
-- title: {principal} granted administrator rights to {target} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, target
-- window: 10m
-- table: cloudtrail
-- attack: TA0004 TA0003; T1098.003
-- description: An IAM identity is given administrator rights: AdministratorAccess (or
--   IAMFullAccess) attached to a user, role or group; an inline policy (PutUserPolicy,
--   PutRolePolicy, PutGroupPolicy) or a new default policy version (CreatePolicyVersion with
--   setAsDefault) with a statement that allows `*`, `*:*` or `iam:*` on every resource.
--   Quiet on routine change: other managed policies, inline policies with scoped actions or
--   resources, Deny statements (boundaries, MFA enforcement), policy versions not made
--   default, and failed calls are not alerted.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'userName'),
                 json_get_str(request_parameters, 'roleName'),
                 json_get_str(request_parameters, 'groupName'),
                 json_get_str(request_parameters, 'policyArn')) AS target,
        json_get_str(request_parameters, 'policyArn') AS policy_arn,
        json_get_str(request_parameters, 'policyName') AS policy_name,
        json_get_str(request_parameters, 'policyDocument') AS doc,
        coalesce(json_get_bool(request_parameters, 'setAsDefault'),
                 json_get_str(request_parameters, 'setAsDefault') = 'true', false) AS set_default
    FROM cloudtrail
    WHERE event_source = 'iam.amazonaws.com'
      AND error_code IS NULL
      AND event_name IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy',
                         'PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy', 'CreatePolicyVersion')
),
-- One row per statement of an inline policy or a new default version.
stmt AS (
    SELECT event_id, unnest(json_get_array(doc, 'Statement')) AS s
    FROM ev
    WHERE doc IS NOT NULL AND json_get_array(doc, 'Statement') IS NOT NULL
      AND (event_name <> 'CreatePolicyVersion' OR set_default)
    UNION ALL
    SELECT event_id, json_get_json(doc, 'Statement') AS s
    FROM ev
    WHERE doc IS NOT NULL AND json_get_array(doc, 'Statement') IS NULL
      AND json_get_json(doc, 'Statement') IS NOT NULL
      AND (event_name <> 'CreatePolicyVersion' OR set_default)
),
admin_doc AS (
    SELECT DISTINCT event_id
    FROM stmt
    WHERE json_get_str(s, 'Effect') = 'Allow'
      AND (json_get_str(s, 'Action') IN ('*', '*:*', 'iam:*')
           OR regexp_like(coalesce(json_get_json(s, 'Action'), ''), '"(\*|\*:\*|iam:\*)"'))
      AND (json_get_str(s, 'Resource') = '*'
           OR regexp_like(coalesce(json_get_json(s, 'Resource'), ''), '"\*"'))
),
hit AS (
    SELECT ev.*
    FROM ev
    LEFT JOIN admin_doc a ON a.event_id = ev.event_id
    WHERE (ev.event_name LIKE 'Attach%'
           AND regexp_like(coalesce(ev.policy_arn, ''), ':policy/(AdministratorAccess|IAMFullAccess)$'))
       OR a.event_id IS NOT NULL
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    target,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_sort(array_agg(DISTINCT coalesce(policy_arn, policy_name))) AS policies,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM hit
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, target
