# The state of dev, under its own key: terraform init -backend-config=../envs/dev/backend.hcl
key = "tessera/dev/terraform.tfstate"
