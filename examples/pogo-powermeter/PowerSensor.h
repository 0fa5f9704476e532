// A simulated optical sensor: the hardware access layer kept apart from the Tango class,
// as facilities usually do (an extra source listed in the Makefile's SVC_OBJS).
#ifndef PowerSensor_H
#define PowerSensor_H

class PowerSensor
{
public:
	explicit PowerSensor(double wavelength_nm = 1550.0);
	void set_wavelength(double nm);
	double wavelength() const { return wavelength_nm; }
	// One reading in W; the simulated beam gives 1 mW at 1550 nm, scaled by the responsivity.
	double read();
	long samples() const { return sample_count; }

private:
	double wavelength_nm;
	long sample_count;
};

#endif  // PowerSensor_H
