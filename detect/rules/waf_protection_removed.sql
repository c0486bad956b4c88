-- id: waf_protection_removed
-- title: {principal} removed WAF protection from {resources}
-- severity: high
-- entity: principal:principal
-- dedupe: principal, resources
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.001
-- description: DisassociateWebACL (WAFv2 or WAF Classic regional): a load balancer, API
--   Gateway stage, AppSync API or Cognito pool left without its web ACL, open to the
--   injection, scraping and flooding the ACL filtered (often done just before an attack).
--   Low when IaC (Terraform, CloudFormation, Pulumi, CDK) re-associates resources as part of a
--   declared change. Quiet on routine change: associations, rule updates, reads, failed
--   calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_and(coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
                       OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk'))
         THEN 'low' ELSE 'high' END AS severity,
    array_to_string(array_slice(array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 'resourceArn'), json_get_str(request_parameters, 'resourceId'), 'unknown'))), 1, 10), ', ') AS resources,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source IN ('wafv2.amazonaws.com', 'waf-regional.amazonaws.com')
  AND event_name = 'DisassociateWebACL'
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
