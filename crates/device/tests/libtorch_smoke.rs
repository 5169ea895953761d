//! Links libtorch and runs real tensor operations, so that a broken libtorch
//! setup fails `cargo xtask test` loudly.
use tch::{Kind, Tensor};
use wearlang_device::{torch_info, DeviceChoice, DeviceError};

#[test]
fn matmul_and_autograd_on_cpu() {
    let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).reshape([2, 2]);
    let b = Tensor::from_slice(&[5.0f32, 6.0, 7.0, 8.0]).reshape([2, 2]);
    let c = a.matmul(&b);
    let got: Vec<f32> = Vec::try_from(c.flatten(0, -1)).unwrap();
    assert_eq!(got, vec![19.0, 22.0, 43.0, 50.0]);

    let x = Tensor::from_slice(&[3.0f32]).set_requires_grad(true);
    let y = (&x * &x).sum(Kind::Float);
    y.backward();
    let g: Vec<f32> = Vec::try_from(x.grad()).unwrap();
    assert_eq!(g, vec![6.0]);
}

#[test]
fn cuda_request_is_checked() {
    let info = torch_info();
    assert!(info.threads >= 1);
    let beyond = DeviceChoice::Cuda(info.cuda_devices).resolve();
    assert_eq!(
        beyond,
        Err(DeviceError::CudaUnavailable {
            index: info.cuda_devices,
            available: info.cuda_devices
        })
    );
    if info.cuda_devices > 0 {
        let d = DeviceChoice::Cuda(0).resolve().unwrap();
        let t = Tensor::ones([4], (Kind::Float, d)) * 2.0;
        assert_eq!(t.sum(Kind::Float).double_value(&[]), 8.0);
    }
}

#[test]
fn seeding_makes_random_tensors_reproducible() {
    let _rng = wearlang_device::lock_rng();
    wearlang_device::seed_everything(11);
    let a = Tensor::randn([16], (Kind::Float, tch::Device::Cpu));
    wearlang_device::seed_everything(11);
    let b = Tensor::randn([16], (Kind::Float, tch::Device::Cpu));
    wearlang_device::seed_everything(12);
    let c = Tensor::randn([16], (Kind::Float, tch::Device::Cpu));
    assert!(a.equal(&b));
    assert!(!a.equal(&c));
}

#[test]
fn the_rng_lock_is_reentrant_and_exclusive() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let outer = wearlang_device::lock_rng();
    let inner = wearlang_device::lock_rng(); // same thread: no deadlock
    let entered = Arc::new(AtomicBool::new(false));
    let flag = entered.clone();
    let other = std::thread::spawn(move || {
        let _g = wearlang_device::lock_rng();
        flag.store(true, Ordering::SeqCst);
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    drop(inner);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        !entered.load(Ordering::SeqCst),
        "another thread entered while held"
    );
    drop(outer);
    other.join().unwrap();
    assert!(entered.load(Ordering::SeqCst));
}
