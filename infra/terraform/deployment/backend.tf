# State in S3, locked with an S3 lock file (Terraform 1.10+). The key is the environment's
# (envs/<env>/backend.hcl); the bucket is the operator's (versioned, encrypted, readable by
# operators only: the state holds the generated passwords):
#   terraform init -backend-config=../envs/prod/backend.hcl -backend-config="bucket=<state bucket>"
terraform {
  backend "s3" {
    region       = "us-east-1"
    encrypt      = true
    use_lockfile = true
  }
}
