// Window presets for CT, in Hounsfield units, as data: {name, key, center, width}.
// Keys 1 to 6 select them in this order (see shortcuts.js).
export const CT_PRESETS = [
  { key: 'lung', name: 'Lung', center: -600, width: 1500 },
  { key: 'mediastinum', name: 'Mediastinum', center: 50, width: 350 },
  { key: 'abdomen', name: 'Abdomen', center: 50, width: 400 },
  { key: 'liver', name: 'Liver', center: 30, width: 150 },
  { key: 'bone', name: 'Bone', center: 400, width: 1800 },
  { key: 'brain', name: 'Brain', center: 40, width: 80 },
];
