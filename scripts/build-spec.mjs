// Placeholder: the stack engine replaces this with the extraction of resource facts from
// @aws-cdk/aws-service-spec into dist/spec (so validate does not load the whole 15 MB database).
