// Which engine a template file is for: a cheap look first, the image engine's word when it could be Packer.

// Keys only a Packer template has at its root; a cheap look before loading the image engine.
const PACKER_HINT = /"(?:builders|provisioners|post-processors|variables|sensitive-variables|min_packer_version|error-cleanup-provisioner|push)"\s*:/;

/**
 * True when the text is a Packer JSON template rather than a CloudFormation one. The decision is
 * the image engine's (`looksLikePackerTemplate`, which also routes broken JSON that is meant as
 * Packer); its module is loaded only when the text could be one.
 */
export async function isPackerTemplate(text: string): Promise<boolean> {
  const start = text.search(/\S/);
  if (start < 0 || text[start] !== '{' || !PACKER_HINT.test(text)) return false;
  const { looksLikePackerTemplate } = await import('./validate-image.js');
  return looksLikePackerTemplate(text);
}
