// Links cppTango: throws and catches a Tango::DevFailed through libtango's Tango::Except.
#include <tango.h>

#include <iostream>

int main()
{
    std::cout << "Tango " << Tango::TgLibVers << std::endl;
    try
    {
        Tango::Except::throw_exception("FASTCONDA_HELLO", "hello from fastconda", "main()");
    }
    catch (const Tango::DevFailed &failed)
    {
        std::cout << failed.errors[0].desc.in() << std::endl;
    }
    return 0;
}
