output "topic_arn" {
  description = "The SNS topic every alarm notifies: subscribe your pager to it."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Every alarm's name."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.db_cpu : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.db_free_storage : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.replica_lag : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.redis_cpu : a.alarm_name],
  )
}
