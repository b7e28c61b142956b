// Scripted SDK answers (aws-sdk-client-mock) for what the emulator cannot produce: slow waits,
// waiter timeouts, throttling. The mocked client passes every command through to the emulator
// unless a test scripts it, so a scripted test still creates and cleans up real objects.
import * as E from '@aws-sdk/client-ec2';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { sdkEc2, type Ec2Api } from '../../src/aws/ec2.js';
import type { Moto } from './moto.js';
import { sdk, REGION } from './helpers.js';

const COMMANDS = [
  E.DescribeImagesCommand,
  E.DescribeVpcsCommand,
  E.DescribeSubnetsCommand,
  E.CreateKeyPairCommand,
  E.DeleteKeyPairCommand,
  E.DescribeKeyPairsCommand,
  E.CreateSecurityGroupCommand,
  E.AuthorizeSecurityGroupIngressCommand,
  E.DeleteSecurityGroupCommand,
  E.DescribeSecurityGroupsCommand,
  E.RunInstancesCommand,
  E.DescribeInstancesCommand,
  E.StopInstancesCommand,
  E.ModifyInstanceAttributeCommand,
  E.TerminateInstancesCommand,
  E.CreateImageCommand,
  E.DeregisterImageCommand,
  E.DescribeSnapshotsCommand,
  E.DeleteSnapshotCommand,
  E.CopyImageCommand,
  E.ModifyImageAttributeCommand,
  E.ModifySnapshotAttributeCommand,
  E.CreateTagsCommand,
  E.DescribeVolumesCommand,
  E.DeleteVolumeCommand,
] as const;

export interface Scripted {
  api: Ec2Api;
  stub: AwsStub<any, any, any>;
  /** Commands sent to the mocked client, by name. */
  sent: string[];
}

/**
 * An EC2 client whose commands go to the emulator, with `script` deciding per command: return an
 * answer to replace the emulator's, or undefined to pass the emulator's through.
 */
/** Scripted answers on top of the emulator; images say root device "ebs", as on AWS (see helpers' `ebsRoots`). */
export async function scripted(moto: Moto, script: (name: string, input: any, real: () => Promise<any>) => Promise<any> = (_n, _i, real) => real(), region = REGION): Promise<Scripted> {
  const real = sdk(moto, region);
  const client = new E.EC2Client({ region, endpoint: moto.url, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const stub = mockClient(client);
  const sent: string[] = [];
  for (const Cmd of COMMANDS) {
    const name = Cmd.name.replace(/Command$/, '');
    const passThrough = async (input: any): Promise<any> => {
      const out: any = await real.send(new (Cmd as any)(input));
      if (name === 'DescribeImages') for (const img of out.Images ?? []) if (img.RootDeviceType === 'standard') img.RootDeviceType = 'ebs';
      return out;
    };
    stub.on(Cmd as never).callsFake((input: any) => {
      sent.push(name);
      return script(name, input, () => passThrough(input));
    });
  }
  return { api: await sdkEc2(client, region), stub, sent };
}

/** A clock that never waits: sleeping moves its time on (abortable like the real one). */
export function fakeClock(start = Date.parse('2026-12-01T00:00:00Z')): { now(): number; sleep(ms: number, signal?: AbortSignal): Promise<void>; slept: number[] } {
  let t = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      slept.push(ms);
      t += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
}
