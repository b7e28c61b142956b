import { pending } from './pending.js';

export const command = pending('deploy', '#4');
