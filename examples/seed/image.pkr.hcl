# The seed's web image in HCL2, Packer's current template language: the twin of image.json. Both
# describe the same builds, so kiln gives them the same build keys: building one after the other
# reuses the first one's image (`kiln build -only=docker.local image.pkr.hcl`).

variable "app_version" {
  type    = string
  default = "1"
}

variable "base_image" {
  type    = string
  default = "debian:bookworm"
}

variable "aws_access_key" {
  type    = string
  default = env("AWS_ACCESS_KEY_ID")
}

variable "aws_secret_key" {
  type      = string
  default   = env("AWS_SECRET_ACCESS_KEY")
  sensitive = true
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "source_ami" {
  type    = string
  default = "ami-fce3c696"
}

locals {
  timestamp = regex_replace(timestamp(), "[- TZ:]", "")
}

source "docker" "local" {
  image  = var.base_image
  pull   = false
  commit = true
  changes = [
    "EXPOSE 80",
    "CMD [\"/usr/local/bin/app-start\"]",
    "LABEL org.example.app-version=${var.app_version}",
  ]
}

source "amazon-ebs" "aws" {
  access_key    = var.aws_access_key
  secret_key    = var.aws_secret_key
  region        = var.region
  source_ami    = var.source_ami
  instance_type = "t2.micro"
  ssh_username  = "admin"
  ami_name      = "seed-web-${var.app_version}-${local.timestamp}"
}

build {
  description = "Web image for the seed stack: busybox httpd serving a CGI page that counts hits in Redis."

  sources = ["source.docker.local", "source.amazon-ebs.aws"]

  provisioner "shell" {
    inline = [
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update -qq",
      "apt-get install -y -qq --no-install-recommends busybox redis-tools >/dev/null",
      "mkdir -p /srv/www/cgi-bin",
    ]
    # On AWS the instance's user is not root: run as root, then hand /srv/www (where the file
    # provisioner uploads next, as that user) over to it.
    override = {
      "amazon-ebs.aws" = {
        execute_command = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E sh -c '{{ .Path }} && chown -R \"$SUDO_USER\" /srv/www'"
      }
    }
  }

  provisioner "file" {
    source      = "${path.root}/app/"
    destination = "/srv/www"
  }

  provisioner "shell" {
    environment_vars = ["APP_VERSION=${var.app_version}"]
    inline = [
      "echo \"$APP_VERSION\" > /etc/app-version",
      "install -m 0755 /srv/www/app-start /usr/local/bin/app-start",
      "chmod 0755 /srv/www/cgi-bin/index /srv/www/cgi-bin/health",
    ]
    override = {
      "amazon-ebs.aws" = {
        execute_command = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E {{ .Path }}"
      }
    }
  }

  post-processors {
    post-processor "docker-tag" {
      only       = ["docker.local"]
      repository = "seed/web"
      tags       = [var.app_version]
    }
    post-processor "manifest" {
      output     = "manifest.json"
      strip_path = true
    }
  }
}
