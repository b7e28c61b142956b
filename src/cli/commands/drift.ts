import { pending } from './pending.js';

export const command = pending('drift', '#4');
