// DescribeImages as one signed EC2 Query request, answered in the SDK's own shapes. This is the
// whole AWS side of an unchanged bake ("is there an AMI with this build key?"), and loading the
// SDK's EC2 client alone costs 0.4–2 s here: more than the goal for the whole command. Errors carry
// AWS's code as `name` and the HTTP status in `$metadata`, as the SDK's do.
import type { DescribeImagesCommandInput, DescribeImagesCommandOutput, Image } from '@aws-sdk/client-ec2';
import { defaultEndpoint, type AwsSettings } from './settings.js';
import { signRequest } from './sigv4.js';

const EC2_API_VERSION = '2016-11-15';

/** The Query protocol's flattened parameters for DescribeImages. */
export function describeImagesParams(i: DescribeImagesCommandInput): URLSearchParams {
  const p = new URLSearchParams({ Action: 'DescribeImages', Version: EC2_API_VERSION });
  (i.ImageIds ?? []).forEach((v, n) => p.append(`ImageId.${n + 1}`, v));
  (i.Owners ?? []).forEach((v, n) => p.append(`Owner.${n + 1}`, v));
  (i.ExecutableUsers ?? []).forEach((v, n) => p.append(`ExecutableBy.${n + 1}`, v));
  (i.Filters ?? []).forEach((f, n) => {
    p.append(`Filter.${n + 1}.Name`, f.Name ?? '');
    (f.Values ?? []).forEach((v, m) => p.append(`Filter.${n + 1}.Value.${m + 1}`, v));
  });
  if (i.IncludeDeprecated !== undefined) p.append('IncludeDeprecated', String(i.IncludeDeprecated));
  if (i.IncludeDisabled !== undefined) p.append('IncludeDisabled', String(i.IncludeDisabled));
  if (i.MaxResults !== undefined) p.append('MaxResults', String(i.MaxResults));
  if (i.NextToken !== undefined) p.append('NextToken', i.NextToken);
  if (i.DryRun !== undefined) p.append('DryRun', String(i.DryRun));
  return p;
}

// ---------------------------------------------------------------------------------------------
// A small XML reader: elements, text and entities (EC2 answers carry no mixed content we need).
// ---------------------------------------------------------------------------------------------

interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

export function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#document', children: [], text: '' };
  const stack: XmlNode[] = [root];
  const re = /<!\[CDATA\[([\s\S]*?)\]\]>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^>]*?)?)(\/?)>|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<![^>]*>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    const top = stack[stack.length - 1]!;
    if (m[1] !== undefined) top.text += m[1];
    else if (m[3] !== undefined) {
      if (m[2] === '/') {
        if (top.name !== m[3] || stack.length === 1) throw new Error(`malformed XML: </${m[3]}> closes <${top.name}>`);
        stack.pop();
      } else {
        const node: XmlNode = { name: m[3], children: [], text: '' };
        top.children.push(node);
        if (m[5] !== '/') stack.push(node);
      }
    } else if (m[6] !== undefined) top.text += decodeEntities(m[6]);
  }
  if (stack.length !== 1) throw new Error(`malformed XML: <${stack[stack.length - 1]!.name}> is not closed`);
  return root;
}

export function child(n: XmlNode | undefined, name: string): XmlNode | undefined {
  return n?.children.find((c) => c.name === name);
}

function text(n: XmlNode | undefined, name: string): string | undefined {
  const c = child(n, name);
  return c ? c.text.trim() : undefined;
}

function items(n: XmlNode | undefined, name: string): XmlNode[] {
  return child(n, name)?.children.filter((c) => c.name === 'item') ?? [];
}

function bool(s: string | undefined): boolean | undefined {
  return s === undefined ? undefined : s === 'true';
}

function num(s: string | undefined): number | undefined {
  return s === undefined || s === '' ? undefined : Number(s);
}

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

function imageOf(n: XmlNode): Image {
  return defined({
    ImageId: text(n, 'imageId'),
    ImageLocation: text(n, 'imageLocation'),
    State: text(n, 'imageState') as Image['State'],
    OwnerId: text(n, 'imageOwnerId'),
    CreationDate: text(n, 'creationDate'),
    Public: bool(text(n, 'isPublic')),
    Architecture: text(n, 'architecture') as Image['Architecture'],
    ImageType: text(n, 'imageType') as Image['ImageType'],
    Name: text(n, 'name'),
    Description: text(n, 'description'),
    ImageOwnerAlias: text(n, 'imageOwnerAlias'),
    Platform: text(n, 'platform') as Image['Platform'],
    RootDeviceType: text(n, 'rootDeviceType') as Image['RootDeviceType'],
    RootDeviceName: text(n, 'rootDeviceName'),
    VirtualizationType: text(n, 'virtualizationType') as Image['VirtualizationType'],
    Hypervisor: text(n, 'hypervisor') as Image['Hypervisor'],
    EnaSupport: bool(text(n, 'enaSupport')),
    SriovNetSupport: text(n, 'sriovNetSupport'),
    BootMode: text(n, 'bootMode') as Image['BootMode'],
    DeprecationTime: text(n, 'deprecationTime'),
    BlockDeviceMappings: items(n, 'blockDeviceMapping').map((b) => {
      const ebs = child(b, 'ebs');
      return defined({
        DeviceName: text(b, 'deviceName'),
        VirtualName: text(b, 'virtualName'),
        Ebs: ebs
          ? defined({
              SnapshotId: text(ebs, 'snapshotId'),
              VolumeSize: num(text(ebs, 'volumeSize')),
              DeleteOnTermination: bool(text(ebs, 'deleteOnTermination')),
              VolumeType: text(ebs, 'volumeType') as never,
              Encrypted: bool(text(ebs, 'encrypted')),
              Iops: num(text(ebs, 'iops')),
            })
          : undefined,
      });
    }),
    Tags: items(n, 'tagSet').map((t) => ({ Key: text(t, 'key') ?? '', Value: text(t, 'value') ?? '' })),
  });
}

/** The SDK-shaped output of a DescribeImages answer. */
export function describeImagesOutput(xml: string): Omit<DescribeImagesCommandOutput, '$metadata'> {
  const doc = parseXml(xml);
  const resp = child(doc, 'DescribeImagesResponse');
  if (!resp) throw new Error('DescribeImages: unexpected answer (no DescribeImagesResponse)');
  const out: Omit<DescribeImagesCommandOutput, '$metadata'> = { Images: items(resp, 'imagesSet').map(imageOf) };
  const next = text(resp, 'nextToken');
  if (next) out.NextToken = next;
  return out;
}

/** An AWS error answer (`<Response><Errors><Error><Code>…`) as an Error named by its code. */
export function queryError(status: number, body: string): Error & { $metadata: { httpStatusCode: number } } {
  let code = '';
  let message = '';
  try {
    const doc = parseXml(body);
    const err = child(child(child(doc, 'Response'), 'Errors'), 'Error') ?? child(child(doc, 'ErrorResponse'), 'Error');
    code = text(err, 'Code') ?? '';
    message = text(err, 'Message') ?? '';
  } catch {
    /* not XML (a proxy's or an emulator's HTML page) */
  }
  const e = new Error(message || `HTTP ${status}${body.trim() && !/^\s*</.test(body) ? `: ${body.trim().slice(0, 200)}` : ''}`) as Error & { $metadata: { httpStatusCode: number } };
  e.name = code || (status >= 500 ? 'InternalError' : `HTTP${status}`);
  e.$metadata = { httpStatusCode: status };
  return e;
}

/** One signed POST of Query parameters; resolves with the status and body. */
async function queryRequest(settings: AwsSettings, service: 'ec2', params: URLSearchParams, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  const url = new URL(settings.endpoint ?? defaultEndpoint(service, settings.region));
  const body = params.toString();
  const headers = signRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
    region: settings.region,
    service,
    credentials: await settings.credentials(),
    date: new Date(),
  });
  headers['content-length'] = String(Buffer.byteLength(body));
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(Object.assign(new Error(`no answer from ${url.host} in 60 s`), { name: 'TimeoutError' })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(e.code && e.name === 'Error' ? Object.assign(e, { name: e.code }) : e));
    req.end(body);
  });
}

export async function describeImagesQuery(settings: AwsSettings, input: DescribeImagesCommandInput, signal?: AbortSignal): Promise<Omit<DescribeImagesCommandOutput, '$metadata'>> {
  const r = await queryRequest(settings, 'ec2', describeImagesParams(input), signal);
  if (r.status !== 200) throw queryError(r.status, r.body);
  return describeImagesOutput(r.body);
}
