// `kiln network [--stack NAME] [--json]`: the local account's VPCs, subnets, security groups and key
// pairs with their ids, as `aws ec2 describe-vpcs / describe-subnets / describe-security-groups /
// describe-key-pairs` give them (the JSON uses their field names and CloudFormation's stack tags). These
// are the ids AWS-specific parameters (`AWS::EC2::VPC::Id`, `Subnet::Id`, `SecurityGroup::Id`,
// `KeyPair::KeyName`) may name. Read from state; changes nothing.
import { flagBool, flagString } from '../args.js';
import { JSON_FLAG } from '../views/common.js';
import { openStackStore, stackCommand } from './stack-common.js';

export const command = stackCommand({
  name: 'network',
  summary: 'list the local VPCs, subnets, security groups and key pairs',
  usage: 'kiln network [--stack NAME] [--json]',
  about:
    "Lists what the local account has, as aws ec2 describe-* would: VPCs (id, CIDR), subnets (id, VPC,\navailability zone, CIDR), security groups (id, name, VPC) and key pairs, each with the stack and\nlogical id that made it. These are the values AWS-specific parameters may take. --stack NAME shows\none stack's only; --json prints {Vpcs, Subnets, SecurityGroups, KeyPairs}.",
  flags: [JSON_FLAG],
  async run(p, io) {
    const [store, view, { inventoryOf, tagValue }] = await Promise.all([openStackStore(p), import('../views/stack.js'), import('../../deploy/inventory.js')]);
    const only = flagString(p, 'stack');
    const inv = inventoryOf(store.allLiveResources().filter((r) => only === undefined || r.stack === only));
    const { Vpcs, Subnets, SecurityGroups, KeyPairs } = inv;
    if (flagBool(p, 'json')) {
      io.out(JSON.stringify({ Vpcs, Subnets, SecurityGroups, KeyPairs }, null, 2) + '\n');
      return 0;
    }
    const from = (o: { Tags: Array<{ Key: string; Value: string }> }) => `${tagValue(o, 'aws:cloudformation:stack-name')}/${tagValue(o, 'aws:cloudformation:logical-id')}`;
    const indent = (text: string) => text.replace(/^(?=.)/gm, '  ');
    const section = (title: string, head: string[], rows: string[][]) => `${title}\n${rows.length ? indent(view.table([head, ...rows])) : '  (none)\n'}`;
    io.out(
      [
        section(
          'VPCs',
          ['VPC ID', 'CIDR', 'STACK/RESOURCE'],
          Vpcs.map((v) => [v.VpcId, v.CidrBlock, from(v)]),
        ),
        section(
          'Subnets',
          ['SUBNET ID', 'VPC ID', 'AZ', 'CIDR', 'PUBLIC IP', 'STACK/RESOURCE'],
          Subnets.map((s) => [s.SubnetId, s.VpcId, s.AvailabilityZone, s.CidrBlock, s.MapPublicIpOnLaunch ? 'yes' : 'no', from(s)]),
        ),
        section(
          'Security groups',
          ['GROUP ID', 'NAME', 'VPC ID', 'STACK/RESOURCE'],
          SecurityGroups.map((g) => [g.GroupId, g.GroupName, g.VpcId, from(g)]),
        ),
        section(
          'Key pairs',
          ['KEY NAME', 'KEY PAIR ID', 'STACK/RESOURCE'],
          KeyPairs.map((k) => [k.KeyName, k.KeyPairId, from(k)]),
        ),
      ].join('\n'),
    );
    return 0;
  },
});
