# The state of staging, under its own key: terraform init -backend-config=../envs/staging/backend.hcl
key = "tessera/staging/terraform.tfstate"
