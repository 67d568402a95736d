import { appBuild } from '../tsup.shared.ts';

export default appBuild();
