/** Interface strings of the page in English and Chinese; API error texts come from shared/errors.ts. */
export type Lang = 'en' | 'zh';

export const STRINGS = {
  en: {
    title: 'One selfie, one 3D face',
    apiKey: 'API key',
    drop: 'Drop a photo here or choose one (JPEG, PNG or WebP)',
    start: 'Start 3D reconstruction',
    running: 'Reconstructing…',
    stage_preprocess: 'Preprocess',
    stage_geometry: 'Geometry',
    stage_texture: 'Texture',
    reset: 'Reset view',
    wireframe: 'Wireframe',
    textured: 'Textured',
    uvCaption: 'UV texture (grid)',
    dlGrid: 'UV texture with grid (PNG)',
    dlTexture: 'Clean UV texture (PNG)',
    dlObj: 'Mesh (OBJ)',
    dlMtl: 'Material (MTL)',
    dlGlb: 'GLB',
    needKey: 'Enter your API key first.',
    badType: 'This file type is not supported: use JPEG, PNG or WebP.',
    tooBig: 'The photo is larger than 10 MB: compress it to 5 MB or less.',
    big: 'The photo is over 5 MB: it will work, but compressing it makes the upload faster.',
    ready: 'Ready: {w} x {h} px, {kb} KB.',
    unreadable: 'This file could not be read as an image.',
  },
  zh: {
    title: '一张自拍，一个 3D 人脸',
    apiKey: 'API 密钥',
    drop: '拖入照片或点击选择（JPEG、PNG 或 WebP）',
    start: '开始 3D 重建',
    running: '正在重建…',
    stage_preprocess: '预处理',
    stage_geometry: '几何',
    stage_texture: '纹理',
    reset: '重置视角',
    wireframe: '线框',
    textured: '贴图',
    uvCaption: 'UV 纹理（网格）',
    dlGrid: '带网格的 UV 纹理（PNG）',
    dlTexture: '纯净 UV 纹理（PNG）',
    dlObj: '网格（OBJ）',
    dlMtl: '材质（MTL）',
    dlGlb: 'GLB',
    needKey: '请先输入 API 密钥。',
    badType: '不支持此文件类型，请使用 JPEG、PNG 或 WebP。',
    tooBig: '照片超过 10 MB，请压缩到 5 MB 以内。',
    big: '照片超过 5 MB：可以使用，但压缩后上传更快。',
    ready: '已就绪：{w} x {h} 像素，{kb} KB。',
    unreadable: '无法将此文件读取为图片。',
  },
} as const satisfies Record<Lang, Record<string, string>>;

export type StringKey = keyof (typeof STRINGS)['en'];

export function t(lang: Lang, key: StringKey, vars: Record<string, string | number> = {}): string {
  return STRINGS[lang][key].replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}
