/** The GLB viewer: three.js, orbit controls, reset, wireframe and untextured toggles. */
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

export interface Viewer {
  show(glb: ArrayBuffer): Promise<void>;
  reset(): void;
  setWireframe(on: boolean): void;
  setTextured(on: boolean): void;
  /** ARKit blendshape names of the loaded GLB (its morph targets), empty for the face-only mesh. */
  morphTargets(): string[];
  setMorph(name: string, weight: number): void;
}

export function createViewer(canvas: HTMLCanvasElement): Viewer {
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xeceff3);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8890a0, 1.6));
  const key = new THREE.DirectionalLight(0xffffff, 1.4);
  key.position.set(-0.4, 0.5, 1);
  scene.add(key);
  const camera = new THREE.PerspectiveCamera(28, 1, 0.01, 10);
  const controls = new OrbitControls(camera, canvas);
  controls.enableDamping = true;
  let model: THREE.Object3D | undefined;
  const materials: THREE.MeshStandardMaterial[] = [];
  const maps = new Map<THREE.MeshStandardMaterial, THREE.Texture | null>();
  // GLTFLoader splits a multi-primitive mesh into one THREE.Mesh per primitive, each with the morph
  // targets; the sliders drive them all.
  const morphed: THREE.Mesh[] = [];
  const home = { pos: new THREE.Vector3(0, 0, 0.5), target: new THREE.Vector3() };

  const resize = () => {
    const w = canvas.clientWidth || 400;
    const h = canvas.clientHeight || 400;
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
  };
  new ResizeObserver(resize).observe(canvas);
  resize();
  renderer.setAnimationLoop(() => {
    controls.update();
    renderer.render(scene, camera);
  });

  return {
    async show(glb) {
      const gltf = await new GLTFLoader().parseAsync(glb, '');
      if (model) scene.remove(model);
      model = gltf.scene;
      materials.length = 0;
      morphed.length = 0;
      model.traverse((o) => {
        if ((o as THREE.Mesh).morphTargetDictionary) morphed.push(o as THREE.Mesh);
        const m = (o as THREE.Mesh).material as THREE.MeshStandardMaterial | undefined;
        if (m) {
          materials.push(m);
          maps.set(m, m.map);
        }
      });
      scene.add(model);
      const box = new THREE.Box3().setFromObject(model);
      const centre = box.getCenter(new THREE.Vector3());
      const size = box.getSize(new THREE.Vector3()).length();
      home.target.copy(centre);
      home.pos.set(centre.x + size * 0.55, centre.y + size * 0.15, centre.z + size * 1.55);
      this.reset();
    },
    reset() {
      camera.position.copy(home.pos);
      controls.target.copy(home.target);
      controls.update();
    },
    setWireframe(on) {
      for (const m of materials) m.wireframe = on;
    },
    morphTargets() {
      const dict = morphed[0]?.morphTargetDictionary ?? {};
      return Object.keys(dict).sort((a, b) => dict[a] - dict[b]);
    },
    setMorph(name, weight) {
      for (const m of morphed) {
        const i = m.morphTargetDictionary![name];
        if (i !== undefined && m.morphTargetInfluences) m.morphTargetInfluences[i] = weight;
      }
    },
    setTextured(on) {
      for (const m of materials) {
        m.map = on ? (maps.get(m) ?? null) : null;
        m.needsUpdate = true;
      }
    },
  };
}
