#include "PowerSensor.h"

#include <cmath>

PowerSensor::PowerSensor(double wavelength_nm) : wavelength_nm(wavelength_nm), sample_count(0) {}

void PowerSensor::set_wavelength(double nm)
{
	wavelength_nm = nm;
}

double PowerSensor::read()
{
	++sample_count;
#ifdef POWERMETER_SIMULATION
	// responsivity peaks at 1550 nm
	double offset = (wavelength_nm - 1550.0) / 1000.0;
	return 1.0e-3 * std::exp(-offset * offset);
#else
	return 0.0;
#endif
}
