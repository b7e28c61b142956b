// The help of `kiln validate` (both kinds of template), shared by validate.ts and validate-stack.ts.

export const HELP = `Usage: kiln validate TEMPLATE... [--param KEY=VALUE]... [--json]

Checks a template on its own, reporting every problem at once, and exits 0 when it is valid, 1 when
it is not (2 for a usage error).

Several templates, or patterns ('templates/**/*.yaml': * ? [a-z] {a,b}, and ** for any number of
directories; quote them so that the shell leaves them to kiln), are checked in one process, each as
its own kind (CloudFormation and Packer may be mixed), with one summary line at the end; exit 1 if
any is invalid. --param values go to the templates that declare them.

A CloudFormation template (JSON or YAML, short forms such as !Ref and !GetAtt included) is checked
as cfn-lint would: sections, resource types and properties (from the AWS resource spec), references
(Ref, Fn::GetAtt, Fn::Sub, DependsOn, conditions), dependency cycles, parameters, outputs, the
limits, and cfn-lint's service rules on literal values: Lambda runtimes past their deprecation dates
(as of today), types of retired services, CIDR blocks, KMS key references. Unquoted yes/no/on/off are
YAML 1.1 booleans, as CloudFormation reads them (AllowedValues: [Yes, No] allows "true" and "false"):
a warning says where. A SAM template (AWS::Serverless-2016-10-31) is checked as written, with a
warning that kiln does not expand the transform. Each --param value is checked against its parameter; a parameter with no Default and no
value is fine here (render and deploy need one). NoEcho values never appear in messages (****).

A Packer JSON template (top-level builders, provisioners, post-processors or variables, and no
CloudFormation section) is checked by the image engine, with Packer's flags (-var, -var-file, ...);
so are \`-\` (stdin) and HCL2 templates: *.pkr.hcl / *.pkr.json files and folders of them
(docs/packer-hcl2.md).

Problems go to stderr, one per line:
  FILE:LINE:COL: error[CODE]: message (at Resources.Web.Properties.ImageId)

Flags:
  --param KEY=VALUE   a parameter value to check (repeatable; CloudFormation only)
  --json              print the diagnostics as JSON on stdout instead
  -h, --help          show this help
`;
