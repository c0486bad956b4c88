CREATE EXTERNAL TABLE IF NOT EXISTS `flows` (
  `version` int,
  `interface_id` string,
  `srcaddr` string,
  `dstaddr` string,
  `srcport` int,
  `dstport` int,
  `protocol` int,
  `packets` bigint,
  `bytes` bigint,
  `start` bigint,
  `end` bigint,
  `action` string,
  `log_status` string,
  `vpc_id` string,
  `subnet_id` string,
  `instance_id` string,
  `tcp_flags` int,
  `type` string,
  `pkt_srcaddr` string,
  `pkt_dstaddr` string,
  `az_id` string,
  `sublocation_type` string,
  `sublocation_id` string,
  `pkt_src_aws_service` string,
  `pkt_dst_aws_service` string,
  `flow_direction` string,
  `traffic_path` int,
  `ecs_cluster_arn` string,
  `ecs_cluster_name` string,
  `ecs_container_instance_arn` string,
  `ecs_container_instance_id` string,
  `ecs_container_id` string,
  `ecs_second_container_id` string,
  `ecs_service_name` string,
  `ecs_task_definition_arn` string,
  `ecs_task_arn` string,
  `ecs_task_id` string,
  `reject_reason` string,
  `resource_id` string,
  `encryption_status` int,
  `extra_fields` map<string,string>,
  `event_time` timestamp,
  `source_key` string
)
PARTITIONED BY (
  `account_id` string,
  `region` string,
  `date` string,
  `hour` string
)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/flowtrail/flows/'
TBLPROPERTIES ('parquet.compression'='ZSTD');
-- then: MSCK REPAIR TABLE `flows`;  (or ALTER TABLE ADD PARTITION as new ones land)

CREATE EXTERNAL TABLE IF NOT EXISTS `cloudtrail` (
  `event_time` timestamp,
  `event_version` string,
  `event_source` string,
  `event_name` string,
  `aws_region` string,
  `source_ip_address` string,
  `user_agent` string,
  `error_code` string,
  `error_message` string,
  `request_id` string,
  `event_id` string,
  `event_type` string,
  `api_version` string,
  `management_event` boolean,
  `read_only` boolean,
  `recipient_account_id` string,
  `shared_event_id` string,
  `vpc_endpoint_id` string,
  `event_category` string,
  `session_credential_from_console` boolean,
  `user_identity_type` string,
  `user_identity_principal_id` string,
  `user_identity_arn` string,
  `user_identity_account_id` string,
  `user_identity_access_key_id` string,
  `user_identity_user_name` string,
  `user_identity_invoked_by` string,
  `session_issuer_arn` string,
  `mfa_authenticated` boolean,
  `user_identity` string,
  `request_parameters` string,
  `response_elements` string,
  `additional_event_data` string,
  `resources` string,
  `tls_details` string,
  `service_event_details` string,
  `extra_fields` string,
  `source_key` string
)
PARTITIONED BY (
  `account_id` string,
  `region` string,
  `date` string,
  `hour` string
)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/flowtrail/cloudtrail/'
TBLPROPERTIES ('parquet.compression'='ZSTD');
-- then: MSCK REPAIR TABLE `cloudtrail`;  (or ALTER TABLE ADD PARTITION as new ones land)

CREATE EXTERNAL TABLE IF NOT EXISTS `alerts` (
  `id` string,
  `detector` string,
  `severity` string,
  `title` string,
  `account_id` string,
  `region` string,
  `entity_kind` string,
  `entity_id` string,
  `first_seen` timestamp,
  `last_seen` timestamp,
  `count` bigint,
  `dedupe_key` string,
  `evidence` string,
  `attack_tactics` array<string>,
  `attack_techniques` array<string>,
  `why` string,
  `next_steps` array<string>,
  `asset` string
)
PARTITIONED BY (
  `date` string
)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/flowtrail/alerts/'
TBLPROPERTIES ('parquet.compression'='ZSTD');
-- then: MSCK REPAIR TABLE `alerts`;  (or ALTER TABLE ADD PARTITION as new ones land)

CREATE EXTERNAL TABLE IF NOT EXISTS `inventory` (
  `snapshot_time` timestamp,
  `account_id` string,
  `region` string,
  `interface_id` string,
  `instance_id` string,
  `private_ip` string,
  `subnet_id` string,
  `vpc_id` string,
  `security_groups` array<string>,
  `image_id` string,
  `instance_profile` string,
  `name` string,
  `tags` string,
  `first_seen` timestamp,
  `last_seen` timestamp,
  `valid_from` timestamp,
  `valid_to` timestamp,
  `source` string
)
PARTITIONED BY (
  `date` string
)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/flowtrail/inventory/'
TBLPROPERTIES ('parquet.compression'='ZSTD');
-- then: MSCK REPAIR TABLE `inventory`;  (or ALTER TABLE ADD PARTITION as new ones land)

