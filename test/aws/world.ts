// What an amazon-ebs test file bakes in: the AWS emulator, an SSH stand-in for the instance, the agent
// that boots the stand-in when the emulator runs an instance, and a source AMI registered for it.
// Made before the file's tests, removed after them.
import { beforeAll, afterAll } from 'vitest';
import { startMoto, type Moto } from './moto.js';
import { startStandIn, instanceAgent, type StandIn, type InstanceAgent } from './standin.js';
import { registerSource, tmpWorkspace, REGION } from './helpers.js';

export interface BakeWorld {
  moto: Moto;
  box: StandIn;
  agent: InstanceAgent;
  ws: ReturnType<typeof tmpWorkspace>;
  /** The registered source AMI's id. */
  source: string;
}

export function bakeWorld(name: string, sourceName?: string): BakeWorld {
  const world = {} as BakeWorld;
  beforeAll(async () => {
    world.ws = tmpWorkspace(name);
    world.moto = await startMoto();
    world.box = await startStandIn(world.ws.testId);
    world.agent = instanceAgent(world.moto.url, REGION, world.box, ['kiln.test', world.ws.testId]);
    world.source = await registerSource(world.moto, sourceName?.replace('{testId}', world.ws.testId));
  });
  afterAll(async () => {
    world.agent?.stop();
    await world.box?.stop();
    await world.moto?.stop();
    world.ws?.cleanup();
  });
  return world;
}
