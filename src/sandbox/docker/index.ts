/**
 * The Docker sandbox backend: binary tools in network-less, locked-down
 * containers with hard limits, images built offline, no orphans.
 */
export {
  createDockerBackend,
  type DockerBackend,
  type DockerBackendOptions,
  type DockerPoolState,
} from './docker-backend.ts';
export { type ToolPoolState } from './pool.ts';
export {
  dockerodeApi,
  isEngineUnreachable,
  type DockerApi,
  type ContainerSpec,
  type ContainerState,
  type ContainerSummary,
  type ImageInfo,
} from './api.ts';
export {
  buildAllImages,
  buildImage,
  imageContentIdentity,
  identityOfLayers,
  identityOfTar,
  listImages,
  DEFAULT_SOCKET_PATH,
  type BuiltImage,
  type BuildAllOptions,
  type BuildImageOptions,
  type ImageOptions,
  type ListedImage,
} from './build/images.ts';
export { loadRecipe, loadRecipes, RECIPES_DIR, type Recipe } from './build/recipe.ts';
export { containerSpec, TOOL_UID } from './container-spec.ts';
export { LABEL } from './owner.ts';
