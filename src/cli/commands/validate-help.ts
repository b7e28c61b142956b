// The help of `kiln validate` (both kinds of template), shared by validate.ts and validate-stack.ts.

export const HELP = `Usage: kiln validate TEMPLATE [--param KEY=VALUE]... [--json]

Checks a template on its own, reporting every problem at once, and exits 0 when it is valid, 1 when
it is not (2 for a usage error).

A CloudFormation template (JSON or YAML, short forms such as !Ref and !GetAtt included) is checked
as cfn-lint would: sections, resource types and properties (from the AWS resource spec), references
(Ref, Fn::GetAtt, Fn::Sub, DependsOn, conditions), dependency cycles, parameters, outputs and the
limits. Each --param value is checked against its parameter; a parameter with no Default and no
value is fine here (render and deploy need one). NoEcho values never appear in messages (****).

A Packer JSON template (top-level builders, provisioners, post-processors or variables, and no
CloudFormation section) is checked by the image engine, with Packer's flags (-var, -var-file, ...);
so are \`-\` (stdin), *.pkr.hcl / *.pkr.json files and directories.

Problems go to stderr, one per line:
  FILE:LINE:COL: error[CODE]: message (at Resources.Web.Properties.ImageId)

Flags:
  --param KEY=VALUE   a parameter value to check (repeatable; CloudFormation only)
  --json              print the diagnostics as JSON on stdout instead
  -h, --help          show this help
`;
