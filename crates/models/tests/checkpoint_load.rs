//! Loading weights checks each tensor's dtype and shape against the model:
//! an F32 tensor rewritten as I32 used to load (converted) and change the
//! embeddings silently.
use tch::{nn, Device, Kind, Tensor};
use wearlang_models::checkpoint::{load_model, MODEL_FILE};

#[test]
fn a_tensor_of_another_dtype_or_shape_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(MODEL_FILE);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let _w = vs.root().zeros("w", &[2, 3]);
    let write = |t: Tensor| Tensor::write_safetensors(&[("w", t)], &path).unwrap();

    write(Tensor::ones([2, 3], (Kind::Float, Device::Cpu)));
    load_model(dir.path(), &mut vs).unwrap();

    write(Tensor::ones([2, 3], (Kind::Int, Device::Cpu)));
    let err = load_model(dir.path(), &mut vs).unwrap_err().to_string();
    assert!(err.contains("`w`") && err.contains("Int"), "{err}");

    write(Tensor::ones([3, 2], (Kind::Float, Device::Cpu)));
    let err = load_model(dir.path(), &mut vs).unwrap_err().to_string();
    assert!(err.contains("`w`") && err.contains("shape"), "{err}");
}
