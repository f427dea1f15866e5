# The state of prod, under its own key: terraform init -backend-config=../envs/prod/backend.hcl
key = "tessera/prod/terraform.tfstate"
